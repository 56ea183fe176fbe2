"""One transaction boundary for every request that writes.

A writing view is wrapped in `@transaction`: what it changes is committed once, after it
returns a successful response, and rolled back on an error response or an exception. Views
and services never commit themselves. Slow work (hashing a password, rendering a PDF) runs
inside `unlocked()`, outside any transaction, so it never holds SQLite's write lock or a
PostgreSQL row lock; work that must follow the commit is queued with `after_commit()`.
"""

import logging
from collections.abc import Callable
from contextlib import contextmanager
from functools import wraps

from flask import current_app, g, has_request_context, session
from flask_login import current_user, login_user, logout_user
from sqlalchemy import event, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import will_write, writing
from app.extensions import db

log = logging.getLogger("duet.transaction")

PENDING = "duet.after_commit"
READY = "duet.after_commit.ready"
WROTE = "duet.wrote"


class NoWriteHere(RuntimeError):
    """A request tried to write outside `@transaction` (a programming error)."""


def locked(model, key):
    """The `model` row whose primary key is `key`, locked until this transaction ends and
    read afresh, or None once it is gone: a request that raced this one has committed by
    the time it returns. (SQLite has no row locks: a transaction that writes holds the
    database's write lock instead.)"""
    column = sa_inspect(model).primary_key[0]
    return db.session.execute(
        select(model)
        .where(column == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def after_commit(callback: Callable[[], None]) -> None:
    """Run `callback` once the current transaction has committed; forget it on rollback."""
    db.session.info.setdefault(PENDING, []).append(callback)


def run_after_commit() -> None:
    """Run the work queued by committed transactions, each in its own unit of work."""
    ready = db.session.info.pop(READY, [])
    for callback in ready:
        try:
            callback()
        except Exception:
            # The commit stands; what follows it can be completed later (see its callback).
            db.session.rollback()
            log.exception("Work after a commit failed; it will be completed later.")


@contextmanager
def unit_of_work():
    """A transaction that writes, outside a view (CLI, after a commit, the login loader).

    It begins afresh, so that on SQLite it begins as a write: what was read before is read
    again. It commits once at the end, or rolls back.
    """
    _begin_afresh()
    with writing():
        try:
            yield db.session
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
    run_after_commit()


@contextmanager
def unlocked():
    """Leave the transaction for slow work; the next statement begins a new one.

    Nothing may have been written yet: the transaction is rolled back, so whatever lock it
    holds is released. Objects read before are read again when next used.
    """
    if _has_written() and will_write():
        raise RuntimeError("Slow work must come before the first write of a transaction.")
    _begin_afresh()
    yield


def _has_written() -> bool:
    current = db.session
    return bool(current.new or current.dirty or current.deleted or current.info.get(WROTE))


def _begin_afresh() -> None:
    """End a read in progress (loading the user begins one), so the write begins as one."""
    if not _has_written():
        db.session.rollback()


def _once(view, args, kwargs):
    """Run the view in a transaction of its own: commit below 400, else roll back."""
    _begin_afresh()
    try:
        with writing():
            response = current_app.make_response(view(*args, **kwargs))
            if response.status_code < 400:
                db.session.commit()
            else:
                db.session.rollback()
    except BaseException:
        db.session.rollback()
        raise
    return response


def transaction(view):
    """The boundary of a writing view: one commit when it succeeds, a rollback otherwise.

    A unique constraint that a simultaneous request won (the same form sent twice, both
    partners pressing the same button) runs the view once more: it then sees the winner's
    state and answers as it would have after it, with a redirect or a message.
    """

    @wraps(view)
    def run(*args, **kwargs):
        saved_session = dict(session)
        person = current_user._get_current_object()
        try:
            response = _once(view, args, kwargs)
        except IntegrityError:
            log.info(
                "A simultaneous request won a unique constraint; running %s again.", view.__name__
            )
            # As if the first run had not happened: its session changes, its messages,
            # and a login or logout it made: the person is who they were before it.
            if person.is_authenticated:
                login_user(person)
            else:
                logout_user()
            session.clear()
            session.update(saved_session)
            g.pop("_flashes", None)
            response = _once(view, args, kwargs)
        run_after_commit()
        return response

    run.writes = True
    return run


@event.listens_for(Session, "after_flush")
def _mark_written(session, _context) -> None:
    session.info[WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _mark_bulk_write(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        _guard_request_write()
        state.session.info[WROTE] = True


@event.listens_for(Session, "before_flush")
def _guard_flush(session, _context, _instances) -> None:
    if session.new or session.dirty or session.deleted:
        _guard_request_write()


def _guard_request_write() -> None:
    if has_request_context() and not will_write():
        raise NoWriteHere("A request may write only inside a @transaction view.")


@event.listens_for(Session, "after_commit")
def _committed(session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the transaction goes on
    session.info.pop(WROTE, None)
    pending = session.info.pop(PENDING, [])
    session.info.setdefault(READY, []).extend(pending)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: what was written before it stands
    session.info.pop(WROTE, None)
    session.info.pop(PENDING, None)
