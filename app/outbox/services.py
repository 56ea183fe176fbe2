"""Enqueueing in the caller's transaction, and claiming and marking for the worker.

Claiming takes due rows with `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, so workers on
several servers each take other rows; on SQLite the claiming transaction holds the write
lock (it begins IMMEDIATE), which serialises claims just as safely. A claimed row is marked
`sending` with a lease: if the worker stops before it marks the row, the row is claimed
again once the lease ends. Delivery is at least once (docs/architecture.md, "Outbox").
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.accounts.models import User
from app.db import utcnow
from app.extensions import db
from app.outbox.kinds import CHANNELS, Kind  # noqa: F401 (callers name kinds through here)
from app.outbox.models import NotificationChoice, OutboxMessage
from app.transaction import after_commit, unit_of_work

log = logging.getLogger("duet.outbox")

WORKER = "duet.outbox"


def notify(recipients: Iterable[int], kind: Kind, key: str, due_at=None) -> None:
    """One row per recipient and channel they chose for this kind, in this transaction;
    a row with the same key is left as it is. The worker is woken after the commit. With
    `due_at`, the rows wait until then (a reminder); `cancel` takes them back."""
    recipients = set(recipients)
    if not recipients:
        return
    chosen = db.session.execute(
        select(NotificationChoice.user_id, NotificationChoice.channel).where(
            NotificationChoice.user_id.in_(recipients),
            NotificationChoice.kind == kind.value,
            NotificationChoice.channel.in_(CHANNELS),
        )
    ).all()
    if not chosen:
        return
    now = utcnow()
    rows = [
        {
            "user_id": user_id,
            "kind": kind.value,
            "channel": channel,
            "key": key,
            "status": "pending",
            "attempts": 0,
            "due_at": due_at or now,
            "created_at": now,
        }
        for user_id, channel in chosen
    ]
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    db.session.execute(dialect.insert(OutboxMessage).values(rows).on_conflict_do_nothing())
    after_commit(wake)


def cancel(kind: Kind, key_prefix: str) -> None:
    """Take back rows of this kind not yet sent whose key starts with `key_prefix` (a
    reminder that no longer holds), in this transaction."""
    db.session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.kind == kind.value,
            OutboxMessage.status == "pending",
            OutboxMessage.key.startswith(key_prefix, autoescape=True),
        )
    )


def notify_partner(couple_id: int, actor_id: int, kind: Kind, key: str) -> None:
    """Tell the other partner of this couple, in this transaction."""
    notify(set(_members(couple_id)) - {actor_id}, kind, key)


def notify_couple(couple_id: int, kind: Kind, key: str) -> None:
    """Tell both partners of this couple, in this transaction."""
    notify(_members(couple_id), kind, key)


def _members(couple_id: int) -> list[int]:
    from app.couple.models import Membership  # the couple package imports this module

    return list(
        db.session.scalars(select(Membership.user_id).where(Membership.couple_id == couple_id))
    )


def wake() -> None:
    """Tell this process's worker thread there is something to send, if it runs."""
    worker = current_app.extensions.get(WORKER)
    if worker is not None:
        worker.wake()


def choices_of(user: User) -> set[tuple[str, str]]:
    """The (kind, channel) pairs this person turned on."""
    return set(
        db.session.execute(
            select(NotificationChoice.kind, NotificationChoice.channel).where(
                NotificationChoice.user_id == user.id
            )
        ).all()
    )


def set_choices(user: User, chosen: set[tuple[str, str]]) -> None:
    """Exactly these (kind, channel) pairs are on for this person from now on."""
    valid = {(kind.value, channel) for kind in Kind for channel in CHANNELS}
    chosen = chosen & valid
    current = choices_of(user)
    for kind, channel in current - chosen:
        db.session.execute(
            delete(NotificationChoice).where(
                NotificationChoice.user_id == user.id,
                NotificationChoice.kind == kind,
                NotificationChoice.channel == channel,
            )
        )
    for kind, channel in sorted(chosen - current):
        db.session.add(NotificationChoice(user_id=user.id, kind=kind, channel=channel))
    db.session.flush()


@dataclass(frozen=True)
class Claimed:
    """A row a worker holds until its lease ends, with where it goes; never its content."""

    id: int
    user_id: int
    kind: str
    channel: str
    key: str
    attempts: int
    email: str
    locale: str | None


def _due(now):
    return OutboxMessage.status.in_(("pending", "sending")) & (OutboxMessage.due_at <= now)


def claim(limit: int) -> list[Claimed]:
    """Take up to `limit` due rows for this worker, oldest first, each with a lease."""
    now = utcnow()
    # A plain read first: an idle worker never asks for SQLite's write lock.
    if db.session.scalar(select(OutboxMessage.id).where(_due(now)).limit(1)) is None:
        return []
    lease = timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    with unit_of_work():
        rows = db.session.execute(
            select(OutboxMessage, User.email, User.locale)
            .join(User, User.id == OutboxMessage.user_id)
            .where(_due(now))
            .order_by(OutboxMessage.due_at, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=OutboxMessage)
        ).all()
        claimed = []
        for message, email, locale in rows:
            if message.status == "sending":
                log.warning(
                    "Outbox row %s (%s): its lease ended; claimed again.", message.id, message.kind
                )
            message.status = "sending"
            message.attempts += 1
            message.due_at = now + lease
            claimed.append(
                Claimed(
                    message.id,
                    message.user_id,
                    message.kind,
                    message.channel,
                    message.key,
                    message.attempts,
                    email,
                    locale,
                )
            )
    return claimed


def _held(item: Claimed):
    """The row, as long as this claim still holds it (no other worker claimed it since)."""
    return update(OutboxMessage).where(
        OutboxMessage.id == item.id,
        OutboxMessage.status == "sending",
        OutboxMessage.attempts == item.attempts,
    )


def mark_sent(item: Claimed) -> None:
    with unit_of_work():
        db.session.execute(_held(item).values(status="sent", sent_at=utcnow()))


def mark_failed(item: Claimed, reason: str) -> None:
    """Try again after a delay that doubles with every attempt, or give up after the last.

    `reason` is the error's class name only: an SMTP error's text may name the address."""
    config = current_app.config
    if item.attempts >= config["OUTBOX_MAX_ATTEMPTS"]:
        values = {"status": "failed"}
        log.error(
            "Outbox row %s (%s): %s; not delivered after %s attempts, giving up.",
            item.id,
            item.kind,
            reason,
            item.attempts,
        )
    else:
        delay = min(
            config["OUTBOX_RETRY_SECONDS"] * 2 ** (item.attempts - 1),
            config["OUTBOX_RETRY_MAX_SECONDS"],
        )
        values = {"status": "pending", "due_at": utcnow() + timedelta(seconds=delay)}
        log.warning(
            "Outbox row %s (%s): %s on attempt %s; next try in %.0f s.",
            item.id,
            item.kind,
            reason,
            item.attempts,
            delay,
        )
    with unit_of_work():
        db.session.execute(_held(item).values(**values))


def forget_old() -> int:
    """Sent and failed rows older than OUTBOX_KEEP_DAYS go: their keys have done their work."""
    before = utcnow() - timedelta(days=current_app.config["OUTBOX_KEEP_DAYS"])
    with unit_of_work():
        return db.session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.status.in_(("sent", "failed")), OutboxMessage.created_at < before
            )
        ).rowcount
