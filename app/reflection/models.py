from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import utcnow
from app.extensions import db


class Answer(db.Model):
    """One person's answer to one prompt: private unless `shared` is set."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("user_id", "prompt_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    prompt_id: Mapped[str] = mapped_column(String(60))
    text: Mapped[str] = mapped_column(Text, default="")
    # Shared with one couple only: leaving the couple un-shares, a new partner sees nothing.
    shared_with_couple_id: Mapped[int | None] = mapped_column(
        ForeignKey("couples.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def shared(self) -> bool:
        return self.shared_with_couple_id is not None


class PatternCheck(db.Model):
    """A person's latest pattern check. Never shown to, or exported for, the partner."""

    __tablename__ = "pattern_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    responses: Mapped[dict] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    pattern: Mapped[str] = mapped_column(String(20))
    taken_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
