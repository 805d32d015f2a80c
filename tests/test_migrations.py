"""The migrations and the models describe the same schema, and the migrations run both ways."""

from __future__ import annotations

import uuid
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy.engine import make_url

from mira.app import PROJECT_MIGRATIONS
from mira.extensions import db


def schema_differences(connection) -> list:
    """What `flask db migrate` would write for this database: nothing, when all is in order."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, db.metadata)


def app_tables(connection) -> set[str]:
    return set(sa.inspect(connection).get_table_names()) - {"alembic_version"}


def current_revision(connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    from alembic.config import Config

    config = Config(str(PROJECT_MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_MIGRATIONS))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"migrations must have one head, found {heads}"
    return heads[0]


def test_migrations_have_a_single_head():
    assert head_revision()


def test_models_and_migrations_agree(app):
    with db.engine.connect() as connection:
        differences = schema_differences(connection)
    assert differences == [], "\n".join(str(d) for d in differences)


def test_migrated_database_has_every_model_table(app):
    with db.engine.connect() as connection:
        assert app_tables(connection) == set(db.metadata.tables)
        assert current_revision(connection) == head_revision()


@contextmanager
def throwaway_database(db_url: str, tmp_path):
    """A database of its own, so going down to base cannot disturb the shared test schema."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    psycopg2 = pytest.importorskip("psycopg2")
    name = f"mira_migrations_test_{uuid.uuid4().hex[:8]}"
    admin_dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    admin = psycopg2.connect(admin_dsn)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        admin.close()


def test_downgrade_to_base_then_upgrade_to_head(make_app, db_url, tmp_path):
    with throwaway_database(db_url, tmp_path) as url:
        app = make_app(SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            try:
                with db.engine.connect() as connection:
                    assert app_tables(connection) == set()

                upgrade()
                with db.engine.connect() as connection:
                    assert app_tables(connection) == set(db.metadata.tables)
                    assert current_revision(connection) == head_revision()

                downgrade(revision="base")
                with db.engine.connect() as connection:
                    assert app_tables(connection) == set()
                    assert current_revision(connection) is None

                upgrade()
                upgrade()  # a second upgrade at head changes nothing
                with db.engine.connect() as connection:
                    assert current_revision(connection) == head_revision()
                    differences = schema_differences(connection)
                    assert differences == [], "\n".join(str(d) for d in differences)
            finally:
                db.session.remove()
                db.engine.dispose()


def test_upgraded_throwaway_database_serves_requests(make_app, db_url, tmp_path):
    """The schema the migrations build (not create_all) is enough for a real round trip."""
    with throwaway_database(db_url, tmp_path) as url:
        app = make_app(SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            try:
                upgrade()
                client = app.test_client()
                registered = client.post(
                    "/api/v1/auth/register",
                    json={"email": "fresh@example.com", "password": "long enough"},
                )
                assert registered.status_code == 201
                headers = {"Authorization": f"Bearer {registered.json['access_token']}"}
                me = client.get("/api/v1/auth/me", headers=headers)
                assert me.status_code == 200
                assert len(me.json["networks"]) == 1
            finally:
                db.session.remove()
                db.engine.dispose()
