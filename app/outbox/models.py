from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import utcnow
from app.extensions import db

KEY_MAX_LENGTH = 120


class OutboxMessage(db.Model):
    """One notification for one person on one channel: who, which kind, never what.

    `key` makes it idempotent: the same event, enqueued twice (a retried request, two
    workers checking review dates), is one row. `status` goes pending -> sending -> sent
    (or failed after the last try); a row `sending` past `due_at` was claimed by a worker
    that stopped, and is claimed again.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "channel", "key"),
        Index("ix_outbox_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(KEY_MAX_LENGTH))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    # When a pending row may be tried; for a row being sent, when its lease ends.
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class NotificationChoice(db.Model):
    """A person's own choice for one kind on one channel; without a row, it is off."""

    __tablename__ = "notification_choices"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)


ENDPOINT_MAX_LENGTH = 1024


class PushSubscription(db.Model):
    """Where the push service reaches one browser: one per signed-in device, gone with it.

    The device's row is its session, so signing that device out, quick exit, a new password
    or deleting the account removes its subscription too (also deleted explicitly there).
    An endpoint belongs to one device: subscribing again from the same browser moves it.
    """

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), unique=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(ENDPOINT_MAX_LENGTH), unique=True)
    # The browser's ECDH public key (65 bytes) and auth secret (16 bytes), base64url.
    p256dh: Mapped[str] = mapped_column(String(100))
    auth: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
