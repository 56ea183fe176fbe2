"""Shared fixtures: every test gets its own app and a clean database.

The suite runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL is set,
e.g. TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test.
"""

import io
import json
import os
import re
import uuid
import zipfile
from pathlib import Path

import jinja2
import jinja2.bccache
import pytest
from flask import Flask
from sqlalchemy import create_engine, make_url, text

from app import create_app
from app.extensions import db, limiter
from app.signing.pdf import Sealer, seal_folder

# pytest-xdist runs the suite in worker processes (gw0, gw1, ...); on PostgreSQL each works in
# a database of its own, named after the one in TEST_DATABASE_URL (test_gw0, test_gw1, ...).
SHARED_POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")
WORKER = os.environ.get("PYTEST_XDIST_WORKER")


def _worker_url(url: str | None) -> str | None:
    if not (url and WORKER):
        return url
    shared = make_url(url)
    own = shared.set(database=f"{shared.database}_{WORKER}")
    return own.render_as_string(hide_password=False)


POSTGRES_URL = _worker_url(SHARED_POSTGRES_URL)
PASSWORD = "quiet evening walk"


class _TemplateCache(jinja2.BytecodeCache):
    """Compiled templates kept in memory for the whole run.

    Every test builds an app of its own, and each app's Jinja environment would compile every
    template it renders again: a tenth of the suite's time. Jinja checks each template's
    source against its checksum, so a changed template is compiled afresh.
    """

    def __init__(self):
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if code := self.compiled.get(bucket.key):
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


_TEMPLATES = _TemplateCache()
_create_jinja_environment = Flask.create_jinja_environment


def _cached_jinja_environment(app: Flask) -> jinja2.Environment:
    environment = _create_jinja_environment(app)
    environment.bytecode_cache = _TEMPLATES
    return environment


Flask.create_jinja_environment = _cached_jinja_environment


def _worker_database() -> None:
    """Make this worker's own database afresh, through the shared one."""
    name = make_url(POSTGRES_URL).database
    engine = create_engine(SHARED_POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def _fresh_postgres_schema() -> None:
    """Drop and recreate the public schema once per run."""
    if POSTGRES_URL != SHARED_POSTGRES_URL:
        _worker_database()
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url_factory(tmp_path_factory):
    if POSTGRES_URL:
        _fresh_postgres_schema()
        return lambda: POSTGRES_URL
    base = tmp_path_factory.mktemp("db")
    return lambda: f"sqlite:///{base / (uuid.uuid4().hex + '.sqlite3')}"


def test_settings(tmp_path, database_url: str, **overrides) -> dict:
    settings = {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "MAIL_BACKEND": "locmem",
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 1024,
        "PUBLIC_URL": "http://duet.test",
    }
    settings.update(overrides)
    if not settings.get("SEAL_PKCS12_PATH"):
        # What `flask seal init` does before a server starts: the app never makes a seal.
        instance = Path(settings["INSTANCE_PATH"])
        if not seal_folder(instance).exists():
            passphrase = settings.get("SEAL_PKCS12_PASSPHRASE")
            Sealer.create(instance, passphrase.encode() if passphrase else None)
    return settings


test_settings.__test__ = False  # a helper, not a test, wherever it is imported


def _clean(app) -> None:
    with app.app_context():
        if POSTGRES_URL:
            db.create_all()
            tables = ", ".join(table.name for table in db.metadata.sorted_tables)
            db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            db.session.commit()
        else:
            db.create_all()


@pytest.fixture
def make_app(tmp_path, database_url_factory):
    """Build an app with test settings plus overrides; the database starts empty."""
    apps = []

    def make(**overrides):
        app = create_app(test_settings(tmp_path, database_url_factory(), **overrides))
        _clean(app)
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    # Flask-Limiter keeps the first app's default limits for the whole process: a test that
    # sets RATELIMIT_DEFAULT must not limit every app made after it.
    limiter.limit_manager.set_default_limits([])


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


class Person:
    """A test client signed in as one person, with helpers for the common steps."""

    def __init__(self, app, email: str, name: str):
        self.app = app
        self.client = app.test_client()
        self.email = email
        self.name = name

    def register(self):
        response = self.client.post(
            "/register",
            data={"email": self.email, "display_name": self.name, "password": PASSWORD},
        )
        assert response.status_code == 302, response.text
        return self

    def login(self, password: str = PASSWORD):
        return self.client.post("/login", data={"email": self.email, "password": password})

    def create_couple(self) -> str:
        """Create a couple and return the invite code shown on the invite page."""
        self.client.post("/couple/new")
        page = self.client.get("/couple/invite").text
        return re.search(r'class="invite-code"[^>]*>([^<]+)<', page).group(1)

    def invite_link(self) -> str:
        page = self.client.get("/couple/invite").text
        return re.search(r'id="invite-link"[^>]*value="([^"]+)"', page).group(1)

    def join(self, code: str):
        return self.client.post("/couple/join", data={"code": code})

    def export(self) -> tuple[dict, dict[str, bytes]]:
        """The data export (a ZIP): its JSON, and every other file in it by name."""
        response = self.client.get("/settings/export")
        assert response.status_code == 200, response.status_code
        with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
            files = {name: archive.read(name) for name in archive.namelist()}
        return json.loads(files.pop("duet-my-data.json")), files

    def get(self, *args, **kwargs):
        return self.client.get(*args, **kwargs)

    def post(self, *args, **kwargs):
        return self.client.post(*args, **kwargs)


@pytest.fixture
def person(app):
    """A factory: person("Anna") registers Anna and returns her signed-in client."""
    counter = iter(range(1000))

    def make(name: str, register: bool = True) -> Person:
        someone = Person(app, f"{name.lower()}{next(counter)}@example.com", name)
        return someone.register() if register else someone

    return make


@pytest.fixture
def partners(person):
    """Anna and Bram, registered and joined as one couple."""
    anna, bram = person("Anna"), person("Bram")
    response = bram.join(anna.create_couple())
    assert response.status_code == 302
    return anna, bram
