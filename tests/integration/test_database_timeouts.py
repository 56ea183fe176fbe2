"""A database that does not answer costs a request a few seconds, never the worker.

PostgreSQL connections carry a connect timeout and statement and lock timeouts; SQLite has
its busy timeout (app/db.py).
"""

import socket
import threading
from contextlib import contextmanager, suppress

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app import create_app
from app.extensions import db
from tests.conftest import POSTGRES_URL, test_settings


def test_postgresql_connections_carry_the_timeouts(tmp_path):
    app = create_app(test_settings(tmp_path, "postgresql+psycopg://postgres@127.0.0.1/duet"))
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["connect_args"] == {
        "connect_timeout": 5,
        "options": "-c statement_timeout=10000 -c lock_timeout=5000",
    }
    assert options["pool_timeout"] == 5
    assert options["pool_pre_ping"] is True


def test_the_timeouts_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_CONNECT_TIMEOUT", "3")
    monkeypatch.setenv("DATABASE_STATEMENT_TIMEOUT", "30")
    monkeypatch.setenv("DATABASE_LOCK_TIMEOUT", "2.5")
    app = create_app(test_settings(tmp_path, "postgresql+psycopg://postgres@127.0.0.1/duet"))
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {
        "connect_timeout": 3,
        "options": "-c statement_timeout=30000 -c lock_timeout=2500",
    }


def test_settings_in_the_database_url_are_kept(tmp_path):
    url = "postgresql+psycopg://postgres@127.0.0.1/duet?options=-csearch_path%3Dother"
    app = create_app(test_settings(tmp_path, url))
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["options"] == (
        "-csearch_path=other -c statement_timeout=10000 -c lock_timeout=5000"
    )


def test_sqlite_keeps_its_own_busy_timeout(tmp_path):
    app = create_app(test_settings(tmp_path, f"sqlite:///{tmp_path / 'duet.sqlite3'}"))
    assert "connect_args" not in app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    with app.app_context():
        try:
            assert db.session.scalar(text("PRAGMA busy_timeout")) == 5000
        finally:
            db.session.rollback()
            db.engine.dispose()


@pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL (TEST_DATABASE_URL)")
def test_a_statement_that_runs_too_long_is_cancelled(tmp_path):
    app = create_app(test_settings(tmp_path, POSTGRES_URL, DATABASE_STATEMENT_TIMEOUT=0.5))
    with app.app_context():
        try:
            assert db.session.scalar(text("SHOW statement_timeout")) == "500ms"
            assert db.session.scalar(text("SHOW lock_timeout")) == "5s"
            with pytest.raises(OperationalError, match="statement timeout"):
                db.session.execute(text("SELECT pg_sleep(20)"))
        finally:
            db.session.rollback()
            db.engine.dispose()


class SilentServer:
    """Accepts a TCP connection and never says a word, like a database that hangs.

    It holds the connection until the client closes it or `hold` seconds pass, and records
    which of the two ended it (the server's ending before it closes the connection).
    """

    def __init__(self, hold: float):
        self.hold = hold
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.endings: list[str] = []
        self.connection = None
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        try:
            self.connection, _address = self.listener.accept()
        except OSError:
            return  # stopped before anyone came
        self.connection.settimeout(self.hold)
        try:
            while self.connection.recv(1024):
                pass
            self.endings.append("client gave up")
        except TimeoutError:
            self.endings.append("server gave up")
        except OSError:
            pass  # stopped by the test
        finally:
            self.connection.close()

    def stop(self):
        self.listener.close()
        if self.connection is not None:
            with suppress(OSError):  # already closed when the client gave up
                self.connection.shutdown(socket.SHUT_RDWR)
        self.thread.join()


@contextmanager
def silent_server(hold: float = 20):
    server = SilentServer(hold)
    server.thread.start()
    try:
        yield server
    finally:
        server.stop()


def test_a_database_that_never_answers_is_a_503_not_a_hang(tmp_path):
    with silent_server() as server:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/duet"
        app = create_app(test_settings(tmp_path, url, DATABASE_CONNECT_TIMEOUT=2))
        response = app.test_client().get("/healthz")
        assert response.status_code == 503
        # Duet stopped waiting while the server still held the connection open.
        assert "server gave up" not in server.endings
