"""Whether Duet can serve: the database answers a trivial query within its timeouts."""

import logging

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db

log = logging.getLogger("duet.health")


def database_answers() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        log.warning("Health check: the database did not answer: %s", error.orig or error)
        return False
    finally:
        db.session.rollback()
    return True
