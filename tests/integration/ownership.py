"""How the route inventory finds a real object for each kind of id in a URL.

Each entry maps a URL argument name to a function that takes the owner (a signed-in
Person in a complete couple) and returns the value of that argument for an object the
owner's couple holds. A new kind of id in a URL needs an entry here; the inventory test
fails and says so until it has one.
"""

from sqlalchemy import select

from app.accounts.models import Device, User
from app.couple.models import LinkEndedNotice, Membership
from app.db import utcnow
from app.drafting.models import Agreement, AgreementClause
from app.extensions import db


def _device_of(owner) -> int:
    with owner.app.app_context():
        return db.session.scalar(
            select(Device.id).join(User).where(User.email == owner.email).limit(1)
        )


def _clause_of(owner) -> int:
    """A clause in the owner's couple's agreement, starting one if needed."""
    owner.post("/agreement/start", data={"language": "en", "starter": "basic"})
    with owner.app.app_context():
        return db.session.scalar(
            select(AgreementClause.id)
            .join(Agreement)
            .join(Membership, Membership.couple_id == Agreement.couple_id)
            .join(User, User.id == Membership.user_id)
            # A clause of the draft, not of a version already final: only a draft's clauses
            # can be changed, so only they show that another couple's answer 404 for
            # being theirs.
            .where(User.email == owner.email, Agreement.drafting_couple_id.is_not(None))
            .limit(1)
        )


def _link_ended_notice_of(owner) -> int:
    """A notice that an earlier link of the owner's ended, beside the couple they are in now."""
    with owner.app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == owner.email))
        notice = LinkEndedNotice(user_id=user_id, partner_name="Someone before")
        db.session.add(notice)
        db.session.commit()
        return notice.id


def _kept_copy_of(owner) -> int:
    """A signed version the owner kept from an earlier couple, beside the one they are in."""
    from datetime import date

    from app.signing.models import KeptCopy

    with owner.app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == owner.email))
        copy = KeptCopy(
            user_id=user_id,
            number=1,
            fingerprint="0" * 64,
            finalised_at=utcnow(),
            review_on=date(2027, 1, 1),
            content={"snapshot": 1},
            pdf=b"%PDF-1.7 kept",
        )
        db.session.add(copy)
        db.session.commit()
        return copy.id


def _final_agreement_of(owner) -> int:
    """A final, signed agreement of the owner's couple, made through the services."""
    from tests.integration.signing_helpers import finalise_through_services

    return finalise_through_services(owner.app, owner.email)


def _pause_of(owner) -> int:
    """A pause the owner asked for, after their couple signed (a pause follows an agreement)."""
    from app.pause.models import Pause

    if owner.post("/pause", data={"minutes": "30"}).status_code == 404:
        _final_agreement_of(owner)
        assert owner.post("/pause", data={"minutes": "30"}).status_code == 302
    with owner.app.app_context():
        return db.session.scalar(
            select(Pause.id)
            .join(User, User.id == Pause.asked_by_id)
            .where(User.email == owner.email)
            .order_by(Pause.id.desc())
            .limit(1)
        )


# In the order they are made when a test makes them all: the final agreement before the
# draft that follows it, whose clause is then the one a clause route is tried with.
OWNED_OBJECTS = {
    "device_id": _device_of,
    "agreement_id": _final_agreement_of,
    "pause_id": _pause_of,
    "clause_id": _clause_of,
    "notice_id": _link_ended_notice_of,
    "copy_id": _kept_copy_of,
}

# Arguments that are not object ids, with the reason each is safe to leave out.
NOT_OBJECT_IDS = {
    "filename": "static files are public by design",
    "prompt_id": "a prompt of the shared content library; answers are always the reader's own",
    "token": "an unguessable secret: whoever holds the invite or reset link may use it",
}
