"""`flask db upgrade` builds the whole schema from nothing, and it matches the models."""

import uuid

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from app import create_app
from app.extensions import db
from tests.conftest import POSTGRES_URL, test_settings


def _empty_database(tmp_path):
    """A URL to a database with nothing in it, and a function that removes it."""
    if not POSTGRES_URL:
        return f"sqlite:///{tmp_path / 'migrated.sqlite3'}", lambda: None
    schema = f"migrations_{uuid.uuid4().hex[:12]}"
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))

    def drop():
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()

    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}", drop


def test_upgrade_from_nothing_matches_the_models(tmp_path):
    url, drop = _empty_database(tmp_path)
    try:
        app = create_app(test_settings(tmp_path, url))
        with app.app_context():
            upgrade()
            tables = set(inspect(db.engine).get_table_names())
            assert {"users", "devices", "couples", "memberships"} <= tables
            with db.engine.connect() as connection:
                differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
            assert differences == [], "the models changed: run `flask db migrate`"
            downgrade(revision="base")
            assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
            db.engine.dispose()
    finally:
        drop()
