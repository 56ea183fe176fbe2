"""Drafting rules: clauses from templates or custom text, typed parameters, approval by
both partners, versions that refuse stale changes, a revision that moves once per change.

Every change locks the agreement row first (SELECT ... FOR UPDATE on PostgreSQL; on SQLite
the write transaction already holds the database), so version checks and the revision
counter can never race.
"""

import hashlib
import string
from dataclasses import dataclass, field
from datetime import date

from blinker import Namespace
from flask import current_app
from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import Select, select

from app import live
from app.accounts.models import User
from app.content.schema import ChoiceParam, Clause, IntParam, Library
from app.couple.models import Couple
from app.drafting import canonical
from app.drafting.models import Agreement, AgreementClause, Approval, Event
from app.extensions import db
from app.forms import has_control_characters, strip
from app.outbox import services as outbox
from app.transaction import locked

LANGUAGES = ("en", "nl")
# The agreement's title in its own language: part of what is signed, so not a UI string.
TITLES = {"en": "Our no-ignoring agreement", "nl": "Onze afspraak: niet negeren"}
# Kinds of history line that change what the agreement says (and so void signatures).
CONTENT_CHANGES = {"added", "changed", "removed", "restored", "moved", "language", "withdrew"}
# What each kind of history line moves on the partner's live pages; the rest move "agreement".
LIVE_PARTS = {
    "signed": ("signing",),
    "voided": ("signing",),
    "finalised": ("agreement", "signing"),
    "revised": ("agreement", "signing"),
}

_signals = Namespace()
#: Sent with the agreement after every accepted change, with the user and the kind.
agreement_changed = _signals.signal("agreement-changed")


class DraftingError(Exception):
    """Input that breaks a rule; `errors` maps form field names to messages."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class AgreementClosed(DraftingError):
    """Only a draft can change: a final agreement refuses every change."""

    def __init__(self):
        super().__init__({"version": _("This agreement is final and can no longer change.")})


class StaleVersion(Exception):
    """The change was made on an older version of the clause than the current one."""

    def __init__(self, clause: AgreementClause):
        super().__init__(f"clause {clause.id} is at version {clause.version}")
        self.clause = clause


@dataclass
class Progress:
    agreed: list[AgreementClause] = field(default_factory=list)
    open: list[AgreementClause] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.agreed) + len(self.open)

    @property
    def complete(self) -> bool:
        return bool(self.agreed) and not self.open

    def agreed_by(self, person: User) -> int:
        """How many of the clauses this person has said yes to."""
        return len(self.agreed) + sum(clause.approved_by(person) for clause in self.open)

    def open_for(self, person: User) -> list[AgreementClause]:
        """The clauses still waiting for this person's yes, in the agreement's order."""
        return [clause for clause in self.open if not clause.approved_by(person)]


def current_draft(couple: Couple) -> Agreement | None:
    return db.session.scalar(select(Agreement).where(Agreement.drafting_couple_id == couple.id))


def clause_of(agreement: Agreement, clause_id: int) -> Select:
    """The statement for a clause of this agreement (see app/couple/access.py)."""
    return select(AgreementClause).where(
        AgreementClause.id == clause_id, AgreementClause.agreement_id == agreement.id
    )


def clause_in(agreement: Agreement, clause_id: int) -> AgreementClause | None:
    return db.session.scalar(clause_of(agreement, clause_id))


def was_finalised(couple: Couple, clause_id: int | None = None) -> bool:
    """Whether the couple has a signed agreement (holding this clause, if one is named)."""
    statement = select(Agreement.id).where(
        Agreement.couple_id == couple.id, Agreement.drafting_couple_id.is_(None)
    )
    if clause_id is not None:
        statement = statement.join(AgreementClause).where(AgreementClause.id == clause_id)
    return db.session.scalar(statement.limit(1)) is not None


def lock(agreement: Agreement) -> Agreement:
    """The agreement, locked for this transaction and read afresh; refused unless a draft.

    Its couple is locked first, as ending the couple does (app/couple/services.py): every
    change moves the couple's revision, and two orders of locks could deadlock.
    """
    # Whatever this request read before the lock may be stale: read it all again after.
    db.session.expire_all()
    if locked(Couple, agreement.couple_id) is None:
        raise AgreementClosed()
    agreement = locked(Agreement, agreement.id)
    if agreement is None or not agreement.is_draft:
        raise AgreementClosed()
    return agreement


def _fresh(clause: AgreementClause) -> AgreementClause:
    return db.session.execute(
        select(AgreementClause)
        .where(AgreementClause.id == clause.id)
        .execution_options(populate_existing=True)
    ).scalar_one()


def record(agreement: Agreement, user: User, kind: str, clause=None, **details) -> None:
    """Every accepted change passes here exactly once: revision + 1 and a history line, and
    the couple's live revision moves for the partner's open pages (app/live.py)."""
    agreement.revision += 1
    live.moved(agreement.couple_id, *LIVE_PARTS.get(kind, ("agreement",)))
    db.session.add(
        Event(
            agreement_id=agreement.id,
            user_id=user.id,
            kind=kind,
            clause_id=clause.id if clause is not None else None,
            details=details,
        )
    )
    db.session.flush()
    agreement_changed.send(agreement, user=user, kind=kind, details=details)


def _check_version(clause: AgreementClause, version: int | None) -> AgreementClause:
    clause = _fresh(clause)
    if version is None or version != clause.version:
        raise StaleVersion(clause)
    return clause


def _changed(clause: AgreementClause) -> None:
    """A changed clause is a new clause to agree on: both approvals go."""
    clause.version += 1
    clause.approvals.clear()


def _language(language: str) -> str:
    if language not in LANGUAGES:
        raise DraftingError({"language": _("Please choose English or Nederlands.")})
    return language


def _next_position(agreement: Agreement) -> int:
    return max((clause.position for clause in agreement.clauses), default=0) + 1


def _title_snapshot(clause: AgreementClause, library: Library) -> dict:
    """The clause's title in both languages as it is now, for the history."""
    if clause.is_custom:
        return {"en": clause.custom_title, "nl": clause.custom_title}
    template = library.clause(clause.template_id)
    return {"en": template.title.en, "nl": template.title.nl}


def start_agreement(
    couple: Couple, user: User, language: str, starter_id: str | None, library: Library
) -> Agreement:
    if current_draft(couple) is not None:
        raise DraftingError({"starter": _("You already have an agreement in drafting.")})
    language = _language(language)
    starter = None
    if starter_id:
        starter = next((item for item in library.starters if item.id == starter_id), None)
        if starter is None:
            raise DraftingError({"starter": _("Please choose one of the starting points.")})
    agreement = Agreement(couple_id=couple.id, drafting_couple_id=couple.id, language=language)
    db.session.add(agreement)
    db.session.flush()
    record(agreement, user, "started", starter=starter_id)
    outbox.notify_partner(couple.id, user.id, outbox.Kind.STARTED, str(agreement.id))
    for item in starter.clauses if starter else ():
        template = library.clause(item.clause)
        clause = AgreementClause(
            position=_next_position(agreement),
            template_id=template.id,
            params={**template.defaults(language), **item.params},
        )
        agreement.clauses.append(clause)
    db.session.flush()
    return agreement


def set_language(agreement: Agreement, user: User, language: str, library: Library) -> None:
    """Every clause now reads in other words, so every yes is asked again.

    Text values still at the old language's default take the new language's default.
    """
    agreement = lock(agreement)
    language = _language(language)
    if language == agreement.language:
        return
    for clause in agreement.clauses:
        if not clause.is_custom:
            template = library.clause(clause.template_id)
            old, new = template.defaults(agreement.language), template.defaults(language)
            clause.params = {
                name: new[name] if value == old.get(name) else value
                for name, value in clause.params.items()
            }
        _changed(clause)
    agreement.language = language
    record(agreement, user, "language", language=language)


def add_clause(
    agreement: Agreement, user: User, template_id: str, library: Library
) -> AgreementClause:
    template = library.clause(template_id or "")
    if template is None:
        raise DraftingError({"template": _("That clause is not in the library.")})
    agreement = lock(agreement)
    clause = AgreementClause(
        position=_next_position(agreement),
        template_id=template.id,
        params=template.defaults(agreement.language),
    )
    agreement.clauses.append(clause)
    db.session.flush()
    record(agreement, user, "added", clause, title=_title_snapshot(clause, library))
    return clause


def _custom_text(title: str, body: str) -> tuple[str, str]:
    config = current_app.config
    title, body = strip(title or ""), strip(body or "")
    errors = {}
    if not title:
        errors["title"] = _("Please give the clause a short title.")
    elif len(title) > config["CUSTOM_TITLE_MAX_LENGTH"]:
        errors["title"] = _(
            "A title is at most %(count)d characters.", count=config["CUSTOM_TITLE_MAX_LENGTH"]
        )
    if not body:
        errors["body"] = _("Please write what you agree.")
    elif len(body) > config["CUSTOM_BODY_MAX_LENGTH"]:
        errors["body"] = _(
            "A clause is at most %(count)d characters; this one has %(length)d.",
            count=config["CUSTOM_BODY_MAX_LENGTH"],
            length=len(body),
        )
    for name, value in (("title", title), ("body", body)):
        if name not in errors and has_control_characters(value):
            errors[name] = _("Please remove the invisible control characters.")
    if errors:
        raise DraftingError(errors)
    return title, body


def add_custom_clause(
    agreement: Agreement, user: User, title: str, body: str, library: Library
) -> AgreementClause:
    title, body = _custom_text(title, body)
    agreement = lock(agreement)
    clause = AgreementClause(
        position=_next_position(agreement), custom_title=title, custom_body=body
    )
    agreement.clauses.append(clause)
    db.session.flush()
    record(agreement, user, "added", clause, title=_title_snapshot(clause, library))
    return clause


def parse_params(template: Clause, raw: dict[str, str]) -> dict:
    """Typed values from what was typed, or DraftingError naming each field that is wrong."""
    values, errors = {}, {}
    for param in template.params:
        key = f"param-{param.name}"
        text = strip(raw.get(key) or "")
        if isinstance(param, IntParam):
            try:
                number = int(text)
            except ValueError:
                errors[key] = _("Please enter a whole number.")
                continue
            if not param.min <= number <= param.max:
                errors[key] = _(
                    "Please choose a number from %(min)d to %(max)d.",
                    min=param.min,
                    max=param.max,
                )
                continue
            values[param.name] = number
        elif isinstance(param, ChoiceParam):
            if text not in {choice.id for choice in param.choices}:
                errors[key] = _("Please choose one of the options.")
                continue
            values[param.name] = text
        else:
            if not text:
                errors[key] = _("Please fill this in.")
            elif len(text) > param.max_length:
                errors[key] = _("At most %(count)d characters, please.", count=param.max_length)
            elif has_control_characters(text):
                errors[key] = _("Please remove the invisible control characters.")
            else:
                values[param.name] = text
    if errors:
        raise DraftingError(errors)
    return values


def update_params(
    agreement: Agreement,
    clause: AgreementClause,
    user: User,
    version: int | None,
    raw: dict[str, str],
    library: Library,
) -> bool:
    """Change a template clause's values; False when nothing actually changed."""
    agreement = lock(agreement)
    clause = _check_version(clause, version)
    if clause.is_custom or clause.removed:
        raise DraftingError({"version": _("This clause cannot be changed that way.")})
    values = parse_params(library.clause(clause.template_id), raw)
    if values == clause.params:
        return False
    clause.params = values
    _changed(clause)
    record(agreement, user, "changed", clause, title=_title_snapshot(clause, library))
    return True


def update_custom(
    agreement: Agreement,
    clause: AgreementClause,
    user: User,
    version: int | None,
    title: str,
    body: str,
    library: Library,
) -> bool:
    agreement = lock(agreement)
    clause = _check_version(clause, version)
    if not clause.is_custom or clause.removed:
        raise DraftingError({"version": _("This clause cannot be changed that way.")})
    title, body = _custom_text(title, body)
    if (title, body) == (clause.custom_title, clause.custom_body):
        return False
    clause.custom_title, clause.custom_body = title, body
    _changed(clause)
    record(agreement, user, "changed", clause, title=_title_snapshot(clause, library))
    return True


def approve(
    agreement: Agreement, clause: AgreementClause, user: User, version: int | None, library
) -> bool:
    """Approve exactly the version the person saw; False if they had already."""
    agreement = lock(agreement)
    clause = _check_version(clause, version)
    if clause.removed or clause.approved_by(user):
        return False
    clause.approvals.append(
        Approval(
            user_id=user.id,
            clause_version=clause.version,
            clause_fingerprint=clause_fingerprint(clause, library, agreement.language),
        )
    )
    record(agreement, user, "approved", clause, title=_title_snapshot(clause, library))
    _tell_if_all_agreed(agreement, user)
    return True


def _tell_if_all_agreed(agreement: Agreement, user: User) -> None:
    """The person has said yes to every clause: the partner hears once per set of clause
    versions, so a yes withdrawn and given again tells them nothing new."""
    active = active_clauses(agreement)
    if not all(clause.approved_by(user) for clause in active):
        return
    versions = ",".join(f"{clause.id}.{clause.version}" for clause in active)
    key = f"{agreement.id}:{hashlib.sha256(versions.encode()).hexdigest()[:32]}"
    outbox.notify_partner(agreement.couple_id, user.id, outbox.Kind.WAITING, key)


def approve_all(
    agreement: Agreement, user: User, seen: list[tuple[AgreementClause, int]], library
) -> int:
    """Approve each clause at exactly the version the person saw, all or none: a clause changed
    or removed since raises StaleVersion (the caller rolls back). How many were new."""
    approved = 0
    for clause, version in seen:
        if _fresh(clause).removed:
            raise StaleVersion(clause)
        approved += approve(agreement, clause, user, version, library)
    return approved


def withdraw(
    agreement: Agreement, clause: AgreementClause, user: User, version: int | None, library
) -> bool:
    agreement = lock(agreement)
    clause = _check_version(clause, version)
    approval = next((item for item in clause.approvals if item.user_id == user.id), None)
    if approval is None:
        return False
    clause.approvals.remove(approval)
    record(agreement, user, "withdrew", clause, title=_title_snapshot(clause, library))
    return True


def remove(
    agreement: Agreement, clause: AgreementClause, user: User, version: int | None, library
) -> bool:
    agreement = lock(agreement)
    clause = _check_version(clause, version)
    if clause.removed:
        return False
    clause.removed = True
    _changed(clause)
    record(agreement, user, "removed", clause, title=_title_snapshot(clause, library))
    return True


def restore(agreement: Agreement, clause: AgreementClause, user: User, library) -> bool:
    agreement = lock(agreement)
    clause = _fresh(clause)
    if not clause.removed:
        return False
    clause.removed = False
    clause.position = _next_position(agreement)
    _changed(clause)
    record(agreement, user, "restored", clause, title=_title_snapshot(clause, library))
    return True


def move(agreement: Agreement, clause: AgreementClause, user: User, step: int, library) -> bool:
    """Move a clause one place up (-1) or down (+1) among the clauses in the agreement."""
    agreement = lock(agreement)
    clause = _fresh(clause)
    active = [item for item in agreement.clauses if not item.removed]
    if clause not in active or step not in (-1, 1):
        return False
    index = active.index(clause)
    if not 0 <= index + step < len(active):
        return False
    other = active[index + step]
    clause.position, other.position = other.position, clause.position
    record(agreement, user, "moved", clause, title=_title_snapshot(clause, library))
    return True


def progress(agreement: Agreement, partners: list[User]) -> Progress:
    result = Progress()
    for clause in agreement.clauses:
        if clause.removed:
            continue
        both = len(partners) == 2 and all(clause.approved_by(person) for person in partners)
        (result.agreed if both else result.open).append(clause)
    return result


def active_clauses(agreement: Agreement) -> list[AgreementClause]:
    return sorted(
        (clause for clause in agreement.clauses if not clause.removed),
        key=lambda clause: clause.position,
    )


def removed_clauses(agreement: Agreement) -> list[AgreementClause]:
    return [clause for clause in agreement.clauses if clause.removed]


def history(agreement: Agreement) -> list[Event]:
    return list(
        db.session.scalars(
            select(Event)
            .where(Event.agreement_id == agreement.id)
            .order_by(Event.created_at.desc(), Event.id.desc())
        )
    )


def clause_title(clause: AgreementClause, library: Library, language: str) -> str:
    if clause.is_custom:
        return clause.custom_title
    return library.clause(clause.template_id).title(language)


def clause_text(clause: AgreementClause, library: Library, language: str) -> Markup:
    """The clause's sentence with its values filled in: values are escaped text, never markup."""
    if clause.is_custom:
        return escape(clause.custom_body)
    template = library.clause(clause.template_id)
    parts = []
    for literal, name, _spec, _conversion in string.Formatter().parse(template.body(language)):
        parts.append(escape(literal))
        if name is not None:
            value = display_value(template, name, clause.params.get(name), language)
            parts.append(Markup("<strong>%s</strong>") % value)
    return Markup("").join(parts)


def plain_text(clause: AgreementClause, library: Library, language: str) -> str:
    """The clause's sentence with its values, as plain text (for signing and the PDF)."""
    if clause.is_custom:
        return clause.custom_body
    template = library.clause(clause.template_id)
    return template.body(language).format_map(
        {
            name: display_value(template, name, value, language)
            for name, value in clause.params.items()
        }
    )


def _clause_data(clause: AgreementClause, position: int, library: Library, language: str):
    return canonical.clause_data(
        position,
        clause.template_id,
        clause_title(clause, library, language),
        plain_text(clause, library, language),
        clause.params,
    )


def clause_fingerprint(
    clause: AgreementClause, library: Library, language: str, position: int | None = None
) -> str:
    """The clause's fingerprint at its position (or at `position`, as it was before a move)."""
    where = clause.position if position is None else position
    return canonical.fingerprint(_clause_data(clause, where, library, language))


def agreement_content(
    agreement: Agreement, partners: list[User], library: Library, review_on: date
) -> dict:
    """The canonical content a signature binds: what the PDF will show (docs/fingerprint.md)."""
    return canonical.agreement_data(
        TITLES[agreement.language],
        agreement.language,
        agreement.number,
        [person.display_name for person in partners],
        [
            _clause_data(clause, index, library, agreement.language)
            for index, clause in enumerate(active_clauses(agreement), start=1)
        ],
        review_on,
    )


def agreement_fingerprint(
    agreement: Agreement, partners: list[User], library: Library, review_on: date
) -> str:
    return canonical.fingerprint(agreement_content(agreement, partners, library, review_on))


def display_value(template: Clause, name: str, value, language: str) -> str:
    param = template.param(name)
    if isinstance(param, ChoiceParam):
        choice = next((item for item in param.choices if item.id == value), None)
        return choice.label(language) if choice else str(value)
    return str(value)
