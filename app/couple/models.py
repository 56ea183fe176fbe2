from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import DISPLAY_NAME_MAX_LENGTH, User
from app.db import utcnow
from app.extensions import db


class Couple(db.Model):
    __tablename__ = "couples"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    invite_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    invite_code: Mapped[str | None] = mapped_column(String(7), unique=True)
    invite_expires_at: Mapped[datetime | None]
    # Moves with every change the partner should see, in the same transaction; each part's
    # column holds the revision at which that part last moved (app/live.py).
    revision: Mapped[int] = mapped_column(default=1, server_default="1")
    partner_revision: Mapped[int] = mapped_column(default=1, server_default="1")
    reflection_revision: Mapped[int] = mapped_column(default=1, server_default="1")
    agreement_revision: Mapped[int] = mapped_column(default=1, server_default="1")
    signing_revision: Mapped[int] = mapped_column(default=1, server_default="1")
    pause_revision: Mapped[int] = mapped_column(default=1, server_default="1")
    review_revision: Mapped[int] = mapped_column(default=1, server_default="1")

    members: Mapped[list["Membership"]] = relationship(
        back_populates="couple",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Membership.seat",
    )

    @property
    def partners(self) -> list[User]:
        return [member.user for member in self.members]


class Membership(db.Model):
    __tablename__ = "memberships"
    # Two seats per couple, enforced by the database even when two people join at once.
    __table_args__ = (
        UniqueConstraint("couple_id", "seat"),
        CheckConstraint("seat IN (1, 2)", name="two_seats"),
    )

    # One row per person: a person belongs to at most one couple.
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    couple_id: Mapped[int] = mapped_column(ForeignKey("couples.id", ondelete="CASCADE"), index=True)
    seat: Mapped[int]
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)

    couple: Mapped[Couple] = relationship(back_populates="members")
    user: Mapped[User] = relationship()


class LinkEndedNotice(db.Model):
    """Tells the partner who stays that their couple ended: only that, never why."""

    __tablename__ = "link_ended_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The name as it was when the link ended: the other account may be gone by now.
    partner_name: Mapped[str] = mapped_column(String(DISPLAY_NAME_MAX_LENGTH))
    ended_at: Mapped[datetime] = mapped_column(default=utcnow)
