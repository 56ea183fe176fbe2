"""Whether Duet can serve (the database answers a trivial query within its timeouts), and
where the couple stands, for the home page."""

import logging
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.accounts.models import User
from app.content import library
from app.couple.models import Couple
from app.drafting import services as drafting
from app.drafting.models import Agreement
from app.drafting.services import Progress
from app.extensions import db
from app.signing.models import FinalDocument

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


@dataclass
class Together:
    """Where the couple's agreement stands, as the home page says it: the one next thing."""

    draft: Agreement | None = None
    progress: Progress | None = None
    i_agreed: int = 0  # clauses of the draft each has said yes to
    partner_agreed: int = 0
    i_signed: bool = False
    partner_signed: bool = False
    latest: tuple[Agreement, FinalDocument] | None = None
    shared_by_partner: int = 0

    @property
    def my_open(self) -> int:
        return self.progress.total - self.i_agreed if self.progress else 0

    @property
    def partner_open(self) -> int:
        return self.progress.total - self.partner_agreed if self.progress else 0


def together(user: User, couple: Couple, partner: User) -> Together:
    """What both partners can see of their couple: never a private answer or check."""
    from app.reflection.services import shared_answers_of
    from app.signing import services as signing

    versions = signing.final_versions(couple)
    state = Together(
        latest=versions[0] if versions else None,
        shared_by_partner=len(shared_answers_of(partner, couple, library())),
    )
    state.draft = drafting.current_draft(couple)
    if state.draft is not None:
        state.progress = drafting.progress(state.draft, couple.partners)
        clauses = drafting.active_clauses(state.draft)
        state.i_agreed = sum(clause.approved_by(user) for clause in clauses)
        state.partner_agreed = sum(clause.approved_by(partner) for clause in clauses)
        state.i_signed = signing.signature_of(state.draft, user) is not None
        state.partner_signed = signing.signature_of(state.draft, partner) is not None
    return state
