from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import utcnow
from app.extensions import db

MARKS = ("kept", "hard", "change")  # for each clause: we kept it, it was hard, change it
TEXT_MAX_LENGTH = 1000  # "what helped", "what was hard": a few sentences


class ReviewAnswer(db.Model):
    """One partner's answers for the review of one final version: a mark for each clause,
    in the order the signed version lists them, and two short texts. Private to its writer
    until both partners have answered; then both see both."""

    __tablename__ = "review_answers"
    __table_args__ = (UniqueConstraint("agreement_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    marks: Mapped[list] = mapped_column(JSON, default=list)  # one of MARKS per clause
    helped: Mapped[str] = mapped_column(Text, default="")
    hard: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)
