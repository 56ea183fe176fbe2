from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import utcnow
from app.extensions import db

NOTE_MAX_LENGTH = 140  # a line, not a letter: the talk itself comes after the pause
PART_MAX_LENGTH = 200  # each part of a softened start: a sentence, not a case
STATES = ("asked", "ready", "ended")  # "overrun" is an asked pause past its time: state_at


class Pause(db.Model):
    """A pause one partner asked for, with the time they said they would be back by.

    Open while `state` is "asked": the one who asked may move the time on along the ladder
    or say they are ready, the partner may send one pre-written word. It closes when they
    say they are ready, or ends on its own a day after it began (app/pause/services.py).
    """

    __tablename__ = "pauses"
    __table_args__ = (CheckConstraint("state IN ('asked', 'ready', 'ended')", name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    couple_id: Mapped[int] = mapped_column(ForeignKey("couples.id", ondelete="CASCADE"), index=True)
    # Equal to couple_id while the pause is open, NULL once it closed: one open pause per
    # couple, by constraint, even when both ask at the same moment.
    open_couple_id: Mapped[int | None] = mapped_column(unique=True)
    asked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The final version whose terms it followed (its signal, its length).
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(10), default="asked")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    back_by: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(String(NOTE_MAX_LENGTH))
    # How many times "I need more time" moved `back_by`: the next step of the ladder.
    extensions: Mapped[int] = mapped_column(default=0)
    # The partner's one pre-written word (an id of services.REASSURANCES), and when.
    reassurance: Mapped[str | None] = mapped_column(String(30))
    reassured_at: Mapped[datetime | None]
    ready_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    # The way back into the talk, once the pause is over: who begins (either may choose),
    # and, if the couple agreed to let the topic rest, until when.
    starter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    rests_until: Mapped[datetime | None]


class SoftStart(db.Model):
    """One partner's softened start for the talk after a pause: "I feel … about … and I
    need …". Private to its writer until they share it; shared, both see it."""

    __tablename__ = "soft_starts"
    __table_args__ = (UniqueConstraint("pause_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pause_id: Mapped[int] = mapped_column(ForeignKey("pauses.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    feel: Mapped[str] = mapped_column(String(PART_MAX_LENGTH))
    about: Mapped[str] = mapped_column(String(PART_MAX_LENGTH))
    need: Mapped[str] = mapped_column(String(PART_MAX_LENGTH))
    language: Mapped[str] = mapped_column(String(8))  # the writer's, for the words around
    written_at: Mapped[datetime] = mapped_column(default=utcnow)
    shared_at: Mapped[datetime | None]
