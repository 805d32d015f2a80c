"""Fixtures: an app on PostgreSQL when TEST_DATABASE_URL is set (CI), on SQLite otherwise.

The schema is built once per session by running the real migrations; each test starts from
empty tables.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade

from mira.app import create_app
from mira.config import normalise_db_url
from mira.extensions import db

TEST_CONFIG = {
    "TESTING": True,
    "MIRA_QUEUE": "sync",
    "MIRA_MIGRATE_COMMANDS": True,
    "RATELIMIT_ENABLED": False,
    # A cheap scrypt cost keeps hundreds of registrations fast; production uses the default.
    "MIRA_PASSWORD_HASH": "scrypt:1024:8:1",
    "MIRA_EVENTS_POLL_S": 0.05,
    # Uploads wait out the dedup window before deciding; tests that need it set their own.
    "MIRA_DEDUP_WINDOW_MS": 200,
}


def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return normalise_db_url(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def db_url(tmp_path_factory) -> str:
    return database_url(tmp_path_factory)


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("instance")
    os.environ["MIRA_INSTANCE_PATH"] = str(path)
    return path


@pytest.fixture(scope="session")
def make_app(db_url, instance_dir):
    """Build an app on the test database; extra settings override the test defaults."""

    def factory(**overrides):
        return create_app(
            {
                **TEST_CONFIG,
                "SQLALCHEMY_DATABASE_URI": db_url,
                "MIRA_STORAGE_URL": str(instance_dir / "audio"),
                **overrides,
            }
        )

    return factory


@pytest.fixture(scope="session")
def _schema(make_app):
    app = make_app()
    with app.app_context():
        _drop_everything()
        upgrade()
    yield
    with app.app_context():
        db.session.remove()
        _drop_everything()


def _drop_everything() -> None:
    """Start from nothing, including Alembic's own table."""
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        else:
            db.metadata.drop_all(conn)
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


def _empty_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        else:
            for name in tables:
                conn.exec_driver_sql(f"DELETE FROM {name}")


@pytest.fixture(scope="session")
def _shared_app(make_app, _schema):
    return make_app()


@pytest.fixture
def app(_shared_app):
    with _shared_app.app_context():
        _empty_tables()
        yield _shared_app
        db.session.remove()
    # Each test's sockets and realtime hub end with it (the tables it watched are emptied).
    hub = _shared_app.extensions.pop("mira_realtime", None)
    if hub is not None:
        hub.stop()


class ServedClient(FlaskClient):
    """Reads and closes every response, as a server does once it has sent it (what runs after a
    response went out, such as the realtime publish, runs then)."""

    def open(self, *args, buffered: bool = True, **kwargs):
        return super().open(*args, buffered=buffered, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = ServedClient
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@dataclass
class Account:
    """A registered user, as a client app would hold it."""

    email: str
    password: str
    access_token: str
    refresh_token: str
    user_id: str
    network_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    def prefix(self, network_id: str | None = None) -> str:
        return f"/api/v1/{network_id or self.network_id}"


_emails = itertools.count(1)


@pytest.fixture
def register(client):
    """Register a new user through the API; returns an Account."""

    def _register(email: str | None = None, password: str = "correct horse battery") -> Account:
        email = email or f"user{next(_emails)}@example.com"
        response = client.post("/api/v1/auth/register", json={"email": email, "password": password})
        assert response.status_code == 201, response.json
        body = response.json
        me = client.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
        ).json
        return Account(
            email=email,
            password=password,
            access_token=body["access_token"],
            refresh_token=body["refresh_token"],
            user_id=body["user"]["id"],
            network_id=me["default_network_id"],
        )

    return _register


@pytest.fixture
def alice(register) -> Account:
    return register("alice@example.com")


@pytest.fixture
def bob(register) -> Account:
    return register("bob@example.com")


@pytest.fixture
def device_key(client, alice) -> str:
    response = client.post(
        f"{alice.prefix()}/service/keys", json={"name": "kitchen mic"}, headers=alice.headers
    )
    assert response.status_code == 201, response.json
    return response.json["key"]


@pytest.fixture
def mic(client, alice, device_key) -> dict[str, str]:
    """Alice's kitchen microphone, registered with her device key; its request headers."""
    response = client.post(
        f"{alice.prefix()}/service/client/register/kitchen", headers={"X-API-Key": device_key}
    )
    assert response.status_code == 200, response.json
    return {"X-API-Key": device_key}


@pytest.fixture
def live(app):
    """The test app served on a real socket (threaded werkzeug), for WebSocket clients.

    Returns the ws:// base URL; requests made with the test client reach the same app, so
    their events reach these sockets in-process."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"ws://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def lstm_batches(monkeypatch) -> list[int]:
    """The batch size of every forward pass of the process's voice encoder, as they happen."""
    from mira.audio.embedding import encoder

    model = encoder()
    lstm = model.lstm
    sizes: list[int] = []

    def counted(batch):
        sizes.append(len(batch))
        return lstm(batch)

    monkeypatch.setattr(model, "lstm", counted)
    return sizes
