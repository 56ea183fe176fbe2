"""Couple rules: create, invite, join, leave. Exactly two partners; one couple per person."""

import re
import secrets
from datetime import datetime

from blinker import Namespace
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from app import live
from app.accounts.models import User
from app.accounts.services import account_deleting, exporting, password_matches, renaming
from app.content import library
from app.couple.models import Couple, LinkEndedNotice, Membership
from app.db import as_utc, utcnow
from app.extensions import db
from app.outbox import services as outbox
from app.transaction import locked

# Read aloud without doubt: no 0/O, 1/I/L, 2/Z, 5/S, 8/B, U/V.
CODE_ALPHABET = "34679ACDEFGHJKMNPQRTWXY"
CODE_LENGTH = 6

_signals = Namespace()
# Sent with the couple and the content library just before a couple ends.
couple_ending = _signals.signal("couple-ending")


class CoupleError(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def couple_of(user: User) -> Couple | None:
    return db.session.scalar(select(Couple).join(Membership).where(Membership.user_id == user.id))


def partner_of(user: User, couple: Couple | None = None) -> User | None:
    couple = couple or couple_of(user)
    if couple is None:
        return None
    return next((partner for partner in couple.partners if partner.id != user.id), None)


def is_complete(couple: Couple) -> bool:
    return len(couple.members) == 2


def format_code(raw: str) -> str:
    return f"{raw[:3]}-{raw[3:]}"


def normalise_code(typed: str) -> str:
    """What a person types, read leniently: any case, spaces or dashes anywhere."""
    return format_code(re.sub(r"[^0-9A-Z]", "", typed.upper()))


def _new_code() -> str:
    while True:
        code = format_code("".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)))
        if db.session.scalar(select(Couple.id).where(Couple.invite_code == code)) is None:
            return code


def renew_invite(couple: Couple, now: datetime | None = None) -> None:
    """A fresh link and code; the old ones stop working at once."""
    couple.invite_token = secrets.token_urlsafe(32)
    couple.invite_code = _new_code()
    couple.invite_expires_at = (now or utcnow()) + current_app.config["INVITE_VALID_FOR"]


def invite_is_live(couple: Couple, now: datetime | None = None) -> bool:
    return (
        couple.invite_expires_at is not None
        and as_utc(couple.invite_expires_at) > (now or utcnow())
        and not is_complete(couple)
    )


def create_couple(user: User) -> Couple:
    if couple_of(user) is not None:
        raise CoupleError("", _("You are already part of a couple."))
    couple = Couple()
    renew_invite(couple)
    couple.members.append(Membership(user=user, seat=1))
    db.session.add(couple)
    db.session.flush()
    return couple


def _open_invite(couple: Couple | None, now: datetime | None) -> Couple:
    if couple is None:
        raise CoupleError(
            "code",
            _("This invite does not match any couple. Please check it with your partner."),
        )
    if is_complete(couple):
        raise CoupleError("code", _("This couple already has two partners."))
    if not invite_is_live(couple, now):
        raise CoupleError(
            "code", _("This invite has expired. Please ask your partner for a new one.")
        )
    return couple


# What secrets.token_urlsafe(32) makes, with room to spare.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def couple_for_token(token: str, now: datetime | None = None) -> Couple:
    """The couple an invite link belongs to, if it can still be joined; else CoupleError."""
    if not _TOKEN.fullmatch(token):  # not one Duet made (a NUL byte would upset PostgreSQL)
        return _open_invite(None, now)
    return _open_invite(db.session.scalar(select(Couple).where(Couple.invite_token == token)), now)


def couple_for_code(typed: str, now: datetime | None = None) -> Couple:
    code = normalise_code(typed)
    return _open_invite(db.session.scalar(select(Couple).where(Couple.invite_code == code)), now)


def join_couple(user: User, couple: Couple) -> None:
    own = couple_of(user)
    if own is not None and own.id == couple.id:
        raise CoupleError("code", _("This is your own invite. Send it to your partner."))
    if own is not None:
        raise CoupleError(
            "code",
            _(
                "You are already in a couple in Duet. "
                "To join a different one, first leave your current couple."
            ),
        )
    if is_complete(couple):
        raise CoupleError("code", _("This couple already has two partners."))
    try:
        with db.session.begin_nested():
            db.session.add(Membership(couple=couple, user=user, seat=2))
    except IntegrityError:
        # Someone else took the second seat in the same moment.
        raise CoupleError("code", _("This couple already has two partners.")) from None
    live.moved(couple.id, "partner")
    outbox.notify_partner(couple.id, user.id, outbox.Kind.JOINED, f"{couple.id}:{user.id}")


def dissolve_couple(couple: Couple, leaving: User) -> None:
    """Ends the couple for both partners; what belongs to the couple goes with it.

    The partner who stays is told only that the link ended, never why: leaving, deleting an
    account and anything else look the same to them (docs/safety.md). No mail is sent.
    Both partners may end it in the same moment (two leaves, a leave and a deletion): the
    couple is locked and read again, and whoever comes second finds it gone.
    """
    db.session.flush()
    couple = locked(Couple, couple.id)
    if couple is None:
        return
    db.session.expire(couple)  # its memberships as they are now, not as first read
    # Each partner keeps every signed version first (app/signing: `_keep_signed_copies`).
    couple_ending.send(couple, library=library())
    for partner in couple.partners:
        if partner.id != leaving.id:
            db.session.add(LinkEndedNotice(user_id=partner.id, partner_name=leaving.display_name))
    # Their open pages stop hearing about this couple and learn that it ended.
    live.signed_out(*(partner.id for partner in couple.partners))
    db.session.delete(couple)
    db.session.flush()


def leave_couple(user: User, password: str) -> None:
    if not password_matches(user, password):
        raise CoupleError("password", _("That is not your password."))
    couple = couple_of(user)
    if couple is not None:
        dissolve_couple(couple, user)


@renaming.connect
def _partner_renamed(user: User, **_extra) -> None:
    """The partner's pages show the new name."""
    couple = couple_of(user)
    if couple is not None:
        live.moved(couple.id, "partner")


@account_deleting.connect
def _dissolve_on_account_deletion(user: User, **_extra) -> None:
    couple = couple_of(user)
    if couple is not None:
        dissolve_couple(couple, user)


def link_ended_notices(user: User) -> list[LinkEndedNotice]:
    """The notices this person has not dismissed yet, newest first."""
    return list(
        db.session.scalars(
            select(LinkEndedNotice)
            .where(LinkEndedNotice.user_id == user.id)
            .order_by(LinkEndedNotice.ended_at.desc(), LinkEndedNotice.id.desc())
        )
    )


def notice_of(user: User, notice_id: int) -> Select:
    """One of this person's own notices (for `owned_or_404`)."""
    return select(LinkEndedNotice).where(
        LinkEndedNotice.id == notice_id, LinkEndedNotice.user_id == user.id
    )


def dismiss_notice(notice: LinkEndedNotice) -> None:
    db.session.delete(notice)
    db.session.flush()


@exporting.connect
def _export_couple(user: User, **_extra) -> dict:
    couple = couple_of(user)
    if couple is None:
        return {"couple": None}
    partner = partner_of(user, couple)
    membership = next(member for member in couple.members if member.user_id == user.id)
    return {
        "couple": {
            "created_at": as_utc(couple.created_at).isoformat(),
            "joined_at": as_utc(membership.joined_at).isoformat(),
            "partner_display_name": partner.display_name if partner else None,
        }
    }


@exporting.connect
def _export_link_ended_notices(user: User, **_extra) -> dict:
    return {
        "link_ended_notices": [
            {
                "partner_display_name": notice.partner_name,
                "ended_at": as_utc(notice.ended_at).isoformat(),
            }
            for notice in link_ended_notices(user)
        ]
    }
