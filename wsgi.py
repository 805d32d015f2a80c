"""The WSGI entry point (gunicorn, Zappa's app_function)."""

from mira.app import create_app

app = create_app()
