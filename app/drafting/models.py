from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.db import utcnow
from app.extensions import db


class Agreement(db.Model):
    """A couple's agreement. `revision` moves with every accepted change, in the same
    transaction, so a poll can tell in one indexed read whether anything changed."""

    __tablename__ = "agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    couple_id: Mapped[int] = mapped_column(ForeignKey("couples.id", ondelete="CASCADE"), index=True)
    # Equal to couple_id while drafting, NULL afterwards: one draft per couple, by constraint.
    drafting_couple_id: Mapped[int | None] = mapped_column(unique=True)
    language: Mapped[str] = mapped_column(String(8))
    # Version 1, 2, ...: revising a final agreement starts the next one as a draft.
    number: Mapped[int] = mapped_column(default=1)
    revision: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def is_draft(self) -> bool:
        return self.drafting_couple_id is not None

    clauses: Mapped[list["AgreementClause"]] = relationship(
        back_populates="agreement",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="AgreementClause.position",
    )


class AgreementClause(db.Model):
    """A clause in an agreement: from a template (with parameter values) or custom text."""

    __tablename__ = "agreement_clauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    # Every accepted change to this clause moves its version; a change must name it.
    version: Mapped[int] = mapped_column(default=1)
    template_id: Mapped[str | None] = mapped_column(String(60))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    custom_title: Mapped[str | None] = mapped_column(String(120))
    custom_body: Mapped[str | None] = mapped_column(Text)
    removed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    agreement: Mapped[Agreement] = relationship(back_populates="clauses")
    approvals: Mapped[list["Approval"]] = relationship(
        back_populates="clause", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def is_custom(self) -> bool:
        return self.template_id is None

    def approved_by(self, user: User) -> bool:
        return any(approval.user_id == user.id for approval in self.approvals)


class Approval(db.Model):
    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("clause_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clause_id: Mapped[int] = mapped_column(
        ForeignKey("agreement_clauses.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    clause_version: Mapped[int]
    # SHA-256 of the clause's canonical form at the moment of the yes, for the audit trail.
    clause_fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    clause: Mapped[AgreementClause] = relationship(back_populates="approvals")


class Event(db.Model):
    """One line of the agreement's history: who did what to which clause, and when."""

    __tablename__ = "agreement_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))
    clause_id: Mapped[int | None] = mapped_column(
        ForeignKey("agreement_clauses.id", ondelete="SET NULL")
    )
    # What the reader needs to read the line later, e.g. the clause's title then.
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User | None] = relationship()
