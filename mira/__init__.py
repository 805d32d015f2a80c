"""Mira: the backend of a voice assistant that lives in a room.

The package itself holds only the version; `mira.app.create_app` builds the web app (also
reachable as `mira.create_app`, imported on first use).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.2.0"


def __getattr__(name: str) -> Any:
    # `from mira import create_app` keeps working without every `import mira.x` paying for the
    # factory and the web stack it imports.
    if name in ("create_app", "PROJECT_MIGRATIONS"):
        from mira import app

        return getattr(app, name)
    raise AttributeError(f"module 'mira' has no attribute {name!r}")
