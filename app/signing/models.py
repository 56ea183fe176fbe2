from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.db import utcnow
from app.extensions import db


class Signature(db.Model):
    """One partner's signature on the exact content with `fingerprint`.

    A change to the agreement voids it (`voided_at`, with the reason kept for the signer).
    """

    __tablename__ = "signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    full_name: Mapped[str] = mapped_column(String(120))
    image_png: Mapped[bytes | None] = mapped_column(LargeBinary)
    typed: Mapped[bool] = mapped_column(default=False)
    review_on: Mapped[date]
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)
    voided_at: Mapped[datetime | None]
    void_reason: Mapped[dict] = mapped_column(JSON, default=dict)

    user: Mapped[User] = relationship()


class FinalDocument(db.Model):
    """The signed PDF of a final agreement: rendered and sealed once, served as stored.

    `pdf` is empty until it is rendered; `seal_fingerprint` names the certificate that
    sealed it (SHA-256 of its DER), empty for PDFs sealed before it was recorded.
    """

    __tablename__ = "final_documents"

    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), primary_key=True
    )
    fingerprint: Mapped[str] = mapped_column(String(64))
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    seal_fingerprint: Mapped[str | None] = mapped_column(String(64))
    finalised_at: Mapped[datetime] = mapped_column(default=utcnow)
    review_on: Mapped[date]
    # What the PDF shows, taken when the agreement became final (app/signing/snapshot.py);
    # empty for agreements finalised before it was kept.
    content: Mapped[dict | None] = mapped_column(JSON)


class KeptCopy(db.Model):
    """A signed version a person keeps once their couple has ended, whatever the other
    partner does: the sealed PDF, or until it is rendered, what it shows.

    Made for each partner when a couple ends; it goes only with its own person's account.
    """

    __tablename__ = "kept_copies"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    fingerprint: Mapped[str] = mapped_column(String(64))
    finalised_at: Mapped[datetime]
    review_on: Mapped[date]
    content: Mapped[dict] = mapped_column(JSON)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    seal_fingerprint: Mapped[str | None] = mapped_column(String(64))
    kept_at: Mapped[datetime] = mapped_column(default=utcnow)
