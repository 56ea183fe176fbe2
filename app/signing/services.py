"""Signing rules: both partners sign the exact content, review date included; a change
voids a signature (a clause, a name, a template's wording, another review date), with the
reason kept for both; the second signature makes the agreement final, rendered and sealed
once; versions; review.
"""

import base64
import dataclasses
import logging
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.lists import format_list
from flask import current_app
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import Select, func, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import defer

from app import filters, live
from app.accounts.models import User
from app.accounts.services import exporting, exporting_files, password_matches, renaming
from app.content import library as current_library
from app.content.schema import Library
from app.couple import services as couples
from app.couple.models import Couple
from app.db import as_utc, utcnow
from app.drafting import services as drafting
from app.drafting.models import Agreement, AgreementClause, Approval, Event
from app.extensions import db
from app.filters import date as long_date
from app.forms import is_ordinary, strip
from app.outbox import services as outbox
from app.signing import drawing, pdf, snapshot
from app.signing.models import FinalDocument, KeptCopy, Signature
from app.transaction import after_commit, unit_of_work, unlocked

log = logging.getLogger("duet.seal")

# What the audit trail counts as changes to the text (taking back a yes is told apart).
CHANGES = drafting.CONTENT_CHANGES - {"withdrew"}


class SigningError(Exception):
    """What is wrong with a signing attempt; `errors` maps form fields to messages."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def sealer() -> pdf.Sealer:
    """The instance's seal, loaded once per process: a configured PKCS#12 file, else
    instance/seal/. Raises pdf.SealUnavailable when it cannot be loaded.

    Nothing here makes a key (`flask seal init` does), so no worker seals with one of its own.
    """
    if "duet.sealer" not in current_app.extensions:
        current_app.extensions["duet.sealer"] = load_sealer()
    return current_app.extensions["duet.sealer"]


def report_seal() -> None:
    """At start-up, one clear line in the log when this instance cannot seal."""
    try:
        sealer()
    except pdf.SealUnavailable as error:
        log.error("Duet cannot seal or verify PDFs: %s", error)
    timestamp_trust()


def timestamp_service() -> pdf.TimestampService | None:
    """The time-stamping service each seal asks for a trusted time (SEAL_TIMESTAMP_URL)."""
    url = current_app.config.get("SEAL_TIMESTAMP_URL")
    if not url:
        return None
    return pdf.TimestampService(url, float(current_app.config["SEAL_TIMESTAMP_TIMEOUT"]))


def timestamp_trust() -> tuple:
    """The roots a time stamp's service must lead to (SEAL_TIMESTAMP_TRUST), read once per
    process. A file that cannot be read is logged once and trusts nothing: times then show
    as not confirmed, and seals are still checked."""
    if "duet.timestamp_trust" not in current_app.extensions:
        path = current_app.config.get("SEAL_TIMESTAMP_TRUST")
        roots = ()
        if path:
            try:
                roots = pdf.read_certificates(Path(path))
            except (OSError, ValueError) as error:
                log.error("SEAL_TIMESTAMP_TRUST: cannot read certificates from %s: %s", path, error)
        current_app.extensions["duet.timestamp_trust"] = roots
    return current_app.extensions["duet.timestamp_trust"]


def load_sealer() -> pdf.Sealer:
    """The seal as it is on disk now, without the per-process copy (for the CLI)."""
    pkcs12 = current_app.config.get("SEAL_PKCS12_PATH")
    return pdf.Sealer.load(
        Path(current_app.instance_path), Path(pkcs12) if pkcs12 else None, seal_passphrase()
    )


def seal_passphrase() -> bytes | None:
    passphrase = current_app.config.get("SEAL_PKCS12_PASSPHRASE")
    return passphrase.encode() if passphrase else None


def checked_sealer() -> pdf.Sealer:
    """The seal to seal a new PDF with, once it is sure to be the one that sealed the others."""
    identity = sealer()
    check_seal_identity(identity)
    return identity


def check_seal_identity(identity: pdf.Sealer) -> None:
    """Refuse to seal (pdf.SealUnavailable, logged) while final agreements bear another seal.

    A lost or swapped seal folder would otherwise start a second identity without a word,
    and every earlier PDF would read as sealed by someone else.
    """
    others = foreign_seals(identity)
    if others:
        message = (
            f"{sum(others.values())} final agreement(s) were sealed by another identity "
            f"({', '.join(sorted(others))}) than this seal ({identity.certificate_fingerprint}): "
            "restore the seal that made them, or see `flask --app app seal init --replace`"
        )
        log.error("Refusing to seal: %s", message)
        raise pdf.SealUnavailable(message)


def foreign_seals(identity: pdf.Sealer | None) -> dict[str, int]:
    """How many final agreements each identity other than `identity` (and those it replaced
    on purpose) sealed, by certificate fingerprint; with no identity, every one."""
    known = {identity.certificate_fingerprint, *identity.retired} if identity else set()
    rows = db.session.execute(
        select(FinalDocument.seal_fingerprint, func.count())
        .where(
            FinalDocument.seal_fingerprint.is_not(None),
            FinalDocument.seal_fingerprint.not_in(known),
        )
        .group_by(FinalDocument.seal_fingerprint)
    )
    return {fingerprint: count for fingerprint, count in rows}


def record_seal_fingerprints() -> int:
    """Read the seal's fingerprint from PDFs stored before it was recorded; returns how many."""
    missing = db.session.scalars(
        select(FinalDocument.agreement_id).where(
            FinalDocument.seal_fingerprint.is_(None), FinalDocument.pdf.is_not(None)
        )
    ).all()
    recorded = 0
    for agreement_id in missing:
        stored = db.session.scalar(
            select(FinalDocument.pdf).where(FinalDocument.agreement_id == agreement_id)
        )
        fingerprint = pdf.sealed_by(stored)
        if fingerprint is not None:
            db.session.execute(
                update(FinalDocument)
                .where(FinalDocument.agreement_id == agreement_id)
                .values(seal_fingerprint=fingerprint)
            )
            recorded += 1
    return recorded


def active_signatures(agreement: Agreement) -> list[Signature]:
    return list(
        db.session.scalars(
            select(Signature)
            .where(Signature.agreement_id == agreement.id, Signature.voided_at.is_(None))
            .order_by(Signature.signed_at)
        )
    )


def signature_of(agreement: Agreement, user: User) -> Signature | None:
    return next((item for item in active_signatures(agreement) if item.user_id == user.id), None)


def voided_signature_of(agreement: Agreement, user: User) -> Signature | None:
    """The person's most recent signature that a later change voided, if they must re-sign."""
    if signature_of(agreement, user) is not None:
        return None
    return db.session.scalar(
        select(Signature)
        .where(
            Signature.agreement_id == agreement.id,
            Signature.user_id == user.id,
            Signature.voided_at.is_not(None),
        )
        .order_by(Signature.voided_at.desc())
        .limit(1)
    )


def why_voided(signature: Signature, viewer: User) -> str:
    """Why this signature no longer counts, in one calm sentence for `viewer`: its signer
    ("... after you signed.") or their partner ("..., so Anna needs to sign again.")."""
    reason = signature.void_reason or {}
    kind, by, title = reason.get("kind"), reason.get("by"), reason.get("title")
    by_viewer = reason.get("by_id") == viewer.id
    if signature.user_id == viewer.id:
        if kind == "renamed":
            if by_viewer:
                return _("You changed your name after you signed.")
            return _("%(name)s changed their name after you signed.", name=by)
        if kind == "review":
            return _(
                "%(name)s chose another date to talk about how it is going: %(date)s.",
                name=by,
                date=long_date(date.fromisoformat(reason["date"])),
            )
        if kind == "wording":
            return _("Duet updated the wording of “%(title)s” after you signed.", title=title)
        if kind == "updated":
            return _("The agreement was updated in Duet after you signed.")
        if title:
            return _("%(name)s changed “%(title)s” after you signed.", name=by, title=title)
        return _("%(name)s changed the agreement after you signed.", name=by)
    name = signature.user.display_name
    if kind == "renamed":
        if by_viewer:
            return _(
                "You changed your name after %(name)s signed, so %(name)s needs to sign again.",
                name=name,
            )
        return _(
            "%(name)s changed their name after signing, so %(name)s needs to sign again.", name=name
        )
    if kind == "review":
        return _(
            "You chose another date to talk than %(name)s did, so %(name)s needs to sign "
            "again, with your date.",
            name=name,
        )
    if kind == "wording":
        return _(
            "Duet updated the wording of “%(title)s” after %(name)s signed, so %(name)s "
            "needs to sign again.",
            title=title,
            name=name,
        )
    if kind == "updated":
        return _(
            "The agreement was updated in Duet after %(name)s signed, so %(name)s needs to "
            "sign again.",
            name=name,
        )
    if title:
        return _(
            "“%(title)s” changed after %(name)s signed, so %(name)s needs to sign again.",
            title=title,
            name=name,
        )
    return _(
        "The agreement changed after %(name)s signed, so %(name)s needs to sign again.", name=name
    )


def ready_to_sign(agreement: Agreement, partners: list[User]) -> bool:
    return agreement.is_draft and drafting.progress(agreement, partners).complete


def default_review_date(agreement: Agreement, today: date | None = None) -> date:
    """The first signer's choice (both sign the same date), else four weeks from today."""
    first = next(iter(active_signatures(agreement)), None)
    if first is not None:
        return first.review_on
    return (today or utcnow().date()) + timedelta(days=current_app.config["REVIEW_AFTER_DAYS"])


def read_drawing(data_url: str) -> bytes:
    """The PNG behind a signature pad's data URL, decoded in full and carrying ink."""
    if not data_url:
        raise SigningError({"signature": _("Please draw your signature, or type it instead.")})
    config = current_app.config
    png = drawing.png_from_data_url(data_url, config["SIGNATURE_MAX_BYTES"])
    picture = drawing.decode(png, config["SIGNATURE_MAX_PIXELS"]) if png else None
    if picture is None:
        raise SigningError(
            {"signature": _("This drawing could not be read. Please draw it again.")}
        )
    if drawing.ink_share(picture) < config["SIGNATURE_MIN_INK"]:
        raise SigningError(
            {"signature": _("This drawing is blank. Please draw your signature, or type it.")}
        )
    return png


def sign(
    agreement: Agreement,
    user: User,
    partners: list[User],
    *,
    password: str,
    full_name: str,
    drawing: str,
    typed: bool,
    agreed: bool,
    review_on: date | None,
    library: Library,
    refused: dict[str, str] | None = None,
) -> Signature:
    """Sign for `user`, or raise SigningError naming every field that is wrong at once;
    `refused` holds what the form itself already found wrong, reported with the rest."""
    refused = refused or {}
    # Checked even when other fields are wrong, so one answer names every problem (each try
    # counts against the password limit all the same); one the form refused is not hashed.
    # The check runs before the agreement is locked: hashing is slow.
    password_ok = "password" not in refused and password_matches(user, password or "")
    agreement = drafting.lock(agreement)
    if not drafting.progress(agreement, partners).complete:
        raise SigningError(
            {"agreement": _("Every clause needs a yes from both of you before you can sign.")}
        )
    _void_outdated(agreement, partners, library, user)
    if signature_of(agreement, user) is not None:
        raise SigningError({"agreement": _("You have already signed this version.")})

    errors = {}
    full_name = strip(full_name or "")
    if not full_name:
        errors["full_name"] = _("Please type your full name.")
    elif not is_ordinary(full_name, 120):
        errors["full_name"] = _("Please type your name in at most 120 ordinary characters.")
    image = None
    if not typed:
        try:
            image = read_drawing(drawing)
        except SigningError as error:
            errors.update(error.errors)
    today = utcnow().date()
    if review_on is None or not today < review_on <= today + timedelta(days=366):
        errors["review_on"] = _("Please choose a date within the coming year.")
    if not agreed:
        errors["agreed"] = _("Please tick the box to say you agree.")
    if not password_ok:
        errors["password"] = _("That is not your password.")
    # The form's own message for a field comes first: it is what was wrong with the input.
    errors.update(refused)
    if errors:
        raise SigningError(errors)

    # Both sign the same review date: another choice than the partner's voids theirs, and
    # they sign again with this one (the page showed the partner's date, pre-filled).
    for other in active_signatures(agreement):
        if other.review_on != review_on:
            _void(
                agreement,
                other,
                user,
                {"kind": "review", "by": user.display_name, "date": review_on.isoformat()},
            )
    signature = Signature(
        agreement_id=agreement.id,
        user_id=user.id,
        fingerprint=drafting.agreement_fingerprint(agreement, partners, library, review_on),
        full_name=full_name,
        image_png=image,
        typed=typed,
        review_on=review_on,
    )
    db.session.add(signature)
    db.session.flush()
    drafting.record(agreement, user, "signed")
    signatures = active_signatures(agreement)
    # Outdated signatures and another date were voided above, so two signatures bind
    # the same fingerprint: the agreement can never be left with two that disagree.
    if len(signatures) == 2 and all(
        item.fingerprint == signature.fingerprint for item in signatures
    ):
        finalise(agreement, user, partners, signatures, library)
        outbox.notify_partner(agreement.couple_id, user.id, outbox.Kind.FINAL, str(agreement.id))
    else:
        # The partner's signature is the last step.
        key = str(signature.id)
        outbox.notify_partner(agreement.couple_id, user.id, outbox.Kind.SIGNED, key)
    return signature


def outdated_signatures(agreement: Agreement, partners: list[User], library: Library):
    """Signatures that no longer bind what the agreement shows: a name changed in a race
    with the signature, a deploy changed a template's wording, or the canonical format."""
    return [
        item
        for item in active_signatures(agreement)
        if item.fingerprint
        != drafting.agreement_fingerprint(agreement, partners, library, item.review_on)
    ]


def void_outdated(
    agreement: Agreement, partners: list[User], library: Library, user: User
) -> Agreement:
    """Void the outdated signatures when the signing page is shown, so that nobody waits
    for a signature that can no longer count. Locks the agreement only when there are any;
    raises drafting.AgreementClosed if it was finalised meanwhile."""
    if outdated_signatures(agreement, partners, library):
        agreement = drafting.lock(agreement)
        _void_outdated(agreement, partners, library, user)
    return agreement


def _void_outdated(agreement, partners, library, user) -> None:
    """Under the agreement's lock: void each outdated signature, saying why."""
    for signature in outdated_signatures(agreement, partners, library):
        clause = _reworded_clause(agreement, library)
        reason = {"kind": "updated"}
        if clause is not None:
            reason = {
                "kind": "wording",
                "title": drafting.clause_title(clause, library, agreement.language),
            }
        _void(agreement, signature, user, reason)


def _reworded_clause(agreement: Agreement, library: Library) -> AgreementClause | None:
    """The first clause whose words differ from the words a yes to it bound, if any.

    Approvals keep their clause's fingerprint, which holds its position then; a move keeps
    the yes, so every position the clause can have had is tried (positions only grow).
    """
    language = agreement.language
    highest = max((clause.position for clause in agreement.clauses), default=0)
    for clause in drafting.active_clauses(agreement):
        approved = {approval.clause_fingerprint for approval in clause.approvals}
        possible = {
            drafting.clause_fingerprint(clause, library, language, position)
            for position in range(1, highest + 1)
        }
        if approved - possible:
            return clause
    return None


def _void(agreement: Agreement, signature: Signature, user: User, reason: dict) -> None:
    """Void one signature with its reason (`user` caused it), said in the history too."""
    signature.voided_at = utcnow()
    signature.void_reason = {**reason, "by_id": user.id}
    drafting.record(
        agreement,
        user,
        "voided",
        signer=signature.user_id,
        reason=reason["kind"],
        reworded=reason.get("title"),
    )


def finalise(agreement, user, partners, signatures, library) -> FinalDocument:
    """Close the draft and store its final document; the PDF follows after the commit.

    Rendering and sealing take a second or two, so they run once the final state is
    committed, outside any lock (`complete_document`). Should that fail or the process
    stop, the next download or `flask signing finish` completes it.
    """
    agreement.drafting_couple_id = None
    drafting.record(agreement, user, "finalised")
    document = FinalDocument(
        agreement_id=agreement.id,
        fingerprint=signatures[0].fingerprint,
        finalised_at=utcnow(),
        review_on=signatures[-1].review_on,
        pdf=None,
    )
    db.session.add(document)
    db.session.flush()
    # What the PDF will show, as signed: a rename or a deploy after this changes nothing.
    document.content = snapshot.to_json(
        document_for(agreement, document, partners, signatures, library)
    )
    agreement_id = agreement.id
    after_commit(lambda: complete_document(agreement_id, library))
    return document


def complete_document(agreement_id: int, library: Library) -> FinalDocument | None:
    """Render and seal a final agreement's PDF if it has none yet; the stored one is kept.

    Safe to run twice at once (two workers, a download during the finish): the PDF is
    stored only where none is, so every download returns the same bytes.
    """
    document = db.session.get(FinalDocument, agreement_id)
    if document is None or document.pdf is not None:
        return document
    couple_id = db.session.get(Agreement, agreement_id).couple_id
    return _seal_once(FinalDocument, agreement_id, content_of(document, library), couple_id)


def _seal_once(model, key: int, content: pdf.PdfAgreement, couple_id: int | None = None):
    """Render and seal `content` outside any lock, then store it on the `model` row with
    primary key `key` only where no PDF is yet, so that two at once store one PDF. The
    couple's open pages learn that the PDF is there (app/live.py)."""
    seal = checked_sealer()
    with unlocked():
        # The time-stamping service is asked here too: never while a lock is held.
        data = pdf.sealed_pdf(content, seal, timestamp_service())
    with unit_of_work():
        stored = db.session.execute(
            update(model)
            .where(sa_inspect(model).primary_key[0] == key, model.pdf.is_(None))
            .values(pdf=data, seal_fingerprint=seal.certificate_fingerprint)
        )
        if stored.rowcount and couple_id is not None:
            live.moved(couple_id, "signing")
    return db.session.get(model, key, populate_existing=True)


def content_of(document: FinalDocument, library: Library) -> pdf.PdfAgreement:
    """What a final agreement's PDF shows: as signed, from its snapshot; for one finalised
    before snapshots were kept, from the agreement as it is now."""
    if document.content is not None:
        content = snapshot.from_json(document.content)
        if snapshot.has_terms(document.content):
            return content
        # Taken before the snapshot kept each clause's template and values: a final
        # agreement's clauses never change, so those are read from it.
        clauses = drafting.active_clauses(db.session.get(Agreement, document.agreement_id))
        return dataclasses.replace(
            content,
            clauses=tuple(
                dataclasses.replace(
                    shown, template=clause.template_id, params=snapshot.params_of(clause.params)
                )
                for shown, clause in zip(content.clauses, clauses, strict=True)
            ),
        )
    agreement = db.session.get(Agreement, document.agreement_id)
    partners = db.session.get(Couple, agreement.couple_id).partners
    if drafting.agreement_fingerprint(agreement, partners, library, document.review_on) != (
        document.fingerprint
    ):
        # A rename or a deploy between the final signature and this rendering.
        log.warning(
            "Agreement %s is rendered with names or wording other than those signed.",
            agreement.id,
        )
    return document_for(agreement, document, partners, active_signatures(agreement), library)


def unfinished_documents() -> list[int]:
    """Final agreements whose PDF is still to be rendered and sealed."""
    return list(
        db.session.scalars(select(FinalDocument.agreement_id).where(FinalDocument.pdf.is_(None)))
    )


def document_for(agreement, document, partners, signatures, library) -> pdf.PdfAgreement:
    """Everything the PDF shows, in the agreement's language."""
    language = agreement.language
    by_id = {person.id: person for person in partners}
    with force_locale(language):
        return pdf.PdfAgreement(
            title=drafting.TITLES[language],
            language=language,
            version=agreement.number,
            partners=tuple(person.display_name for person in partners),
            finalised_at=as_utc(document.finalised_at),
            review_on=document.review_on,
            clauses=tuple(
                pdf.PdfClause(
                    title=drafting.clause_title(clause, library, language),
                    text=drafting.plain_text(clause, library, language),
                    template=clause.template_id,
                    params=snapshot.params_of(clause.params),
                )
                for clause in drafting.active_clauses(agreement)
            ),
            fingerprint=document.fingerprint,
            signatures=tuple(
                pdf.PdfSignature(
                    name=by_id[item.user_id].display_name,
                    full_name=item.full_name,
                    signed_at=as_utc(item.signed_at),
                    image_png=item.image_png,
                    typed=item.typed,
                )
                for item in signatures
            ),
            audit=tuple(audit_trail(agreement, by_id, signatures, library, document)),
            verify_url=current_app.config["PUBLIC_URL"].rstrip("/") + "/verify",
            clause_fingerprints=tuple(
                _agreed_fingerprint(clause, library, language)
                for clause in drafting.active_clauses(agreement)
            ),
            replaces=_replaced_version(agreement),
        )


def _agreed_fingerprint(clause: AgreementClause, library: Library, language: str) -> str:
    """The clause's fingerprint as both agreed to it (a change takes every yes back)."""
    agreed = sorted(clause.approvals, key=lambda approval: approval.created_at)
    return (
        agreed[0].clause_fingerprint
        if agreed
        else drafting.clause_fingerprint(clause, library, language)
    )


def _replaced_version(agreement: Agreement) -> pdf.PdfReplaces | None:
    """The couple's final version before this one, which this one replaces."""
    row = db.session.execute(
        select(Agreement.number, FinalDocument)
        .join(FinalDocument, FinalDocument.agreement_id == Agreement.id)
        .where(Agreement.couple_id == agreement.couple_id, Agreement.number < agreement.number)
        .order_by(Agreement.number.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    number, document = row
    finalised_at = as_utc(document.finalised_at)
    return pdf.PdfReplaces(
        version=number,
        document_id=pdf.document_id(document.fingerprint, finalised_at),
        finalised_at=finalised_at,
    )


def audit_trail(agreement, people: dict, signatures, library, document) -> list[pdf.AuditLine]:
    """Per person, in plain sentences with their day and time: who started, changed, agreed
    and signed. Times and names only: no addresses or device data, since partners may share
    devices. The fingerprints are printed apart, under "Technical details"."""
    language = agreement.language
    events = list(
        db.session.scalars(
            select(Event).where(Event.agreement_id == agreement.id).order_by(Event.id)
        )
    )
    name = lambda user_id: people[user_id].display_name if user_id in people else _("Someone")  # noqa: E731

    def when(moment) -> dict[str, str]:
        moment = as_utc(moment)
        return {"date": pdf.long_date(moment, language), "time": pdf.short_time(moment, language)}

    lines = []
    started = next((event for event in events if event.kind in ("started", "revised")), None)
    if started is not None:
        who, at = name(started.user_id), when(started.created_at)
        if started.kind == "revised":
            previous = started.details.get("previous")
            text = _(
                "%(name)s started this version from version %(previous)s on %(date)s at %(time)s.",
                name=who,
                previous=previous,
                **at,
            )
        else:
            text = _("%(name)s started drafting on %(date)s at %(time)s.", name=who, **at)
        lines.append(pdf.AuditLine(as_utc(started.created_at), text, who))
    for user_id in dict.fromkeys(event.user_id for event in events):
        who = name(user_id)
        own = [event for event in events if event.user_id == user_id]
        if changes := [event for event in own if event.kind in CHANGES]:
            last = changes[-1].created_at
            text = ngettext(
                "%(name)s made %(num)d change while drafting, on %(date)s at %(time)s.",
                "%(name)s made %(num)d changes while drafting, the last on %(date)s at %(time)s.",
                len(changes),
                name=who,
                **when(last),
            )
            lines.append(pdf.AuditLine(as_utc(last), text, who))
        if withdrawn := [event for event in own if event.kind == "withdrew"]:
            last = withdrawn[-1].created_at
            text = ngettext(
                "%(name)s took back their yes to a clause once, on %(date)s at %(time)s.",
                "%(name)s took back their yes to a clause %(num)d times, the last on %(date)s "
                "at %(time)s.",
                len(withdrawn),
                name=who,
                **when(last),
            )
            lines.append(pdf.AuditLine(as_utc(last), text, who))
    clauses = drafting.active_clauses(agreement)
    numbers = {clause.id: number for number, clause in enumerate(clauses, start=1)}
    approvals = db.session.scalars(
        select(Approval)
        .join(AgreementClause)
        .where(AgreementClause.agreement_id == agreement.id, AgreementClause.removed.is_(False))
        .order_by(Approval.created_at)
    )
    # One sentence per person and Amsterdam day: "Anna agreed to all 5 clauses on ...".
    days: dict[tuple, list[Approval]] = {}
    for approval in approvals:
        day = pdf.long_date(as_utc(approval.created_at), language)
        days.setdefault((approval.user_id, day), []).append(approval)
    for (user_id, _day), agreed in days.items():
        who, last = name(user_id), agreed[-1].created_at
        if len(agreed) == len(clauses):
            text = ngettext(
                "%(name)s agreed to the clause on %(date)s at %(time)s.",
                "%(name)s agreed to all %(num)d clauses on %(date)s at %(time)s.",
                len(agreed),
                name=who,
                **when(last),
            )
        elif len(agreed) == 1:
            text = _(
                "%(name)s agreed to clause %(number)s, “%(title)s”, on %(date)s at %(time)s.",
                name=who,
                number=numbers[agreed[0].clause_id],
                title=drafting.clause_title(agreed[0].clause, library, language),
                **when(last),
            )
        else:
            listed = format_list(
                [str(number) for number in sorted(numbers[item.clause_id] for item in agreed)],
                locale=filters.date_locale(language),
            )
            text = _(
                "%(name)s agreed to clauses %(numbers)s on %(date)s, the last at %(time)s.",
                name=who,
                numbers=listed,
                **when(last),
            )
        lines.append(pdf.AuditLine(as_utc(last), text, who))
    voided = db.session.scalars(
        select(Signature)
        .where(Signature.agreement_id == agreement.id, Signature.voided_at.is_not(None))
        .order_by(Signature.signed_at)
    )
    for item in voided:
        who = name(item.user_id)
        text = _(
            "%(name)s signed on %(date)s at %(time)s; that signature was set aside when "
            "the agreement changed.",
            name=who,
            **when(item.signed_at),
        )
        lines.append(pdf.AuditLine(as_utc(item.signed_at), text, who))
    for item in signatures:
        who = name(item.user_id)
        text = _(
            "%(name)s signed as “%(full_name)s” on %(date)s at %(time)s.",
            name=who,
            full_name=item.full_name,
            **when(item.signed_at),
        )
        lines.append(pdf.AuditLine(as_utc(item.signed_at), text, who))
    text = _(
        "Both had signed: the agreement became final on %(date)s at %(time)s.",
        **when(document.finalised_at),
    )
    lines.append(pdf.AuditLine(as_utc(document.finalised_at), text, None))
    return sorted(lines, key=lambda item: item.at)


def render_again(agreement_id: int, library: Library) -> bytes:
    """Render and seal a final agreement anew from the database (for the CLI, to prove it).

    The stored PDF stays the one that is served; this makes a fresh, equally valid copy.
    """
    agreement = db.session.get(Agreement, agreement_id)
    document = db.session.get(FinalDocument, agreement_id)
    if agreement is None or document is None:
        raise LookupError(f"There is no final agreement with id {agreement_id}.")
    partners = db.session.get(Couple, agreement.couple_id).partners
    content = document_for(agreement, document, partners, active_signatures(agreement), library)
    seal = checked_sealer()
    with unlocked():  # no transaction stays open while the time-stamping service answers
        return pdf.sealed_pdf(content, seal, timestamp_service())


def final_versions(couple: Couple) -> list[tuple[Agreement, FinalDocument]]:
    """The couple's final versions, newest first. Their PDFs are read only when asked for:
    the home page, the versions page, the pause and the review read these on every view."""
    rows = db.session.execute(
        select(Agreement, FinalDocument)
        .join(FinalDocument, FinalDocument.agreement_id == Agreement.id)
        .where(Agreement.couple_id == couple.id)
        .order_by(Agreement.number.desc())
        .options(defer(FinalDocument.pdf))
    )
    return [(agreement, document) for agreement, document in rows]


def final_version_of(couple: Couple, agreement_id: int) -> Select:
    """The statement for one final version of this couple, with its document."""
    return (
        select(Agreement, FinalDocument)
        .join(FinalDocument, FinalDocument.agreement_id == Agreement.id)
        .where(Agreement.couple_id == couple.id, Agreement.id == agreement_id)
    )


def revise(couple: Couple, agreement: Agreement, user: User, library: Library) -> Agreement:
    """Start version N+1 as a draft copy of final version N, with every yes asked again."""
    if drafting.current_draft(couple) is not None:
        raise SigningError({"agreement": _("You already have an agreement in drafting.")})
    latest = db.session.scalar(
        select(func.max(Agreement.number)).where(Agreement.couple_id == couple.id)
    )
    draft = Agreement(
        couple_id=couple.id,
        drafting_couple_id=couple.id,
        language=agreement.language,
        number=latest + 1,
    )
    db.session.add(draft)
    db.session.flush()
    for clause in drafting.active_clauses(agreement):
        draft.clauses.append(
            AgreementClause(
                position=clause.position,
                template_id=clause.template_id,
                params=dict(clause.params),
                custom_title=clause.custom_title,
                custom_body=clause.custom_body,
            )
        )
    drafting.record(draft, user, "revised", previous=agreement.number)
    outbox.notify_partner(couple.id, user.id, outbox.Kind.STARTED, str(draft.id))
    return draft


def enqueue_review_reminders(today: date) -> None:
    """Both partners are reminded of the latest final version's review date a week before
    (or as soon as it is a week away) and on the day: once per version and date."""
    latest = (
        select(Agreement.couple_id, func.max(Agreement.number).label("number"))
        .join(FinalDocument, FinalDocument.agreement_id == Agreement.id)
        .group_by(Agreement.couple_id)
        .subquery()
    )
    due = db.session.execute(
        select(Agreement.id, Agreement.couple_id, FinalDocument.review_on)
        .join(FinalDocument, FinalDocument.agreement_id == Agreement.id)
        .join(
            latest,
            (latest.c.couple_id == Agreement.couple_id) & (latest.c.number == Agreement.number),
        )
        .where(FinalDocument.review_on.between(today, today + timedelta(days=7)))
    ).all()
    if not due:
        return
    with unit_of_work():
        for agreement_id, couple_id, review_on in due:
            kind = outbox.Kind.REVIEW_DAY if review_on == today else outbox.Kind.REVIEW_SOON
            key = f"{agreement_id}:{review_on.isoformat()}"
            outbox.notify_couple(couple_id, kind, key)


def local_today() -> date:
    """Today in the app's time zone, the one a review date is meant in: at 00:30 in
    Amsterdam it is already the next day, while in UTC it is not."""
    return utcnow().astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()


def review_due(couple: Couple, today: date | None = None) -> FinalDocument | None:
    """The latest final version's review, when it is a week away or past."""
    versions = final_versions(couple)
    if not versions:
        return None
    document = versions[0][1]
    today = today or local_today()
    return document if document.review_on - today <= timedelta(days=7) else None


@drafting.agreement_changed.connect
def _void_signatures(agreement: Agreement, user: User, kind: str, details: dict, **_extra):
    """What was signed no longer exists: a change voids every signature on the draft."""
    if kind not in drafting.CONTENT_CHANGES:
        return
    now: datetime = utcnow()
    for signature in active_signatures(agreement):
        signature.voided_at = now
        signature.void_reason = {
            "by": user.display_name,
            "by_id": user.id,
            "kind": kind,
            "title": (details.get("title") or {}).get(agreement.language),
        }


@renaming.connect
def _void_on_rename(user: User, name: str, **_extra):
    """The names are part of what is signed: renaming voids the signatures on the draft.

    The draft is locked even when no signature shows yet, so that a signature being made
    at this moment is waited for and then voided (or, if it finalised, the agreement keeps
    the name it was signed with).
    """
    couple = couples.couple_of(user)
    draft = drafting.current_draft(couple) if couple is not None else None
    if draft is None:
        return
    try:
        draft = drafting.lock(draft)
    except drafting.AgreementClosed:
        return
    for signature in active_signatures(draft):
        _void(draft, signature, user, {"kind": "renamed", "by": name})


# --- Copies each partner keeps -----------------------------------------------------------


@couples.couple_ending.connect
def _keep_signed_copies(couple: Couple, library: Library, **_extra) -> None:
    """Before a couple ends, each partner gets their own copy of every signed version:
    the sealed PDF if it is made, and in any case what it shows, to render it later."""
    for agreement, document in final_versions(couple):
        content = document.content or snapshot.to_json(content_of(document, library))
        for partner in couple.partners:
            db.session.add(
                KeptCopy(
                    user_id=partner.id,
                    number=agreement.number,
                    fingerprint=document.fingerprint,
                    finalised_at=document.finalised_at,
                    review_on=document.review_on,
                    content=content,
                    pdf=document.pdf,
                    seal_fingerprint=document.seal_fingerprint,
                )
            )
    db.session.flush()


def kept_copies(user: User) -> list[KeptCopy]:
    """The signed versions this person kept from couples that have ended, newest first."""
    return list(
        db.session.scalars(
            select(KeptCopy)
            .where(KeptCopy.user_id == user.id)
            .order_by(KeptCopy.finalised_at.desc(), KeptCopy.id.desc())
        )
    )


def kept_copy_of(user: User, copy_id: int) -> Select:
    """One of this person's own kept copies (for `owned_or_404`)."""
    return select(KeptCopy).where(KeptCopy.user_id == user.id, KeptCopy.id == copy_id)


def complete_kept_copy(copy_id: int) -> KeptCopy:
    """Render and seal a kept copy whose PDF was not made before its couple ended."""
    copy = db.session.get(KeptCopy, copy_id)
    if copy.pdf is not None:
        return copy
    return _seal_once(KeptCopy, copy_id, snapshot.from_json(copy.content))


def readable_text(content: pdf.PdfAgreement) -> str:
    """A signed agreement as plain text, in its own language: what the PDF says, in order."""
    with force_locale(content.language):
        lines = [
            content.title,
            _(
                "Between %(first)s and %(second)s",
                first=content.partners[0],
                second=content.partners[1],
            ),
            _(
                "Version %(number)d, final on %(date)s",
                number=content.version,
                date=long_date(content.finalised_at),
            ),
            _("Document ID %(id)s", id=content.document_id),
            "",
        ]
        for number, clause in enumerate(content.clauses, start=1):
            lines += [f"{number}. {clause.title}", clause.text, ""]
        lines += [_("Talk about how it is going: %(date)s.", date=long_date(content.review_on)), ""]
        for signature in content.signatures:
            lines.append(
                _(
                    "Signed by %(name)s (%(full_name)s) on %(date)s",
                    name=signature.name,
                    full_name=signature.full_name,
                    date=long_date(signature.signed_at),
                )
            )
        lines += ["", _("Content fingerprint") + f": {content.fingerprint}", content.verify_url, ""]
    return "\n".join(lines)


@exporting_files.connect
def _export_agreements(user: User, **_extra) -> list[tuple[str, bytes]]:
    """Every signed version this person holds, as its sealed PDF and as readable text."""
    files = []
    couple = couples.couple_of(user)
    library = current_library()
    for agreement, document in final_versions(couple) if couple else []:
        if document.pdf is None:
            document = complete_document(agreement.id, library)
        name = file_name(document.finalised_at, agreement.number)
        files.append((f"agreements/{name}", document.pdf))
        text = readable_text(content_of(document, library))
        files.append((f"agreements/{name.removesuffix('.pdf')}.txt", text.encode("utf-8")))
    for copy in kept_copies(user):
        if copy.pdf is None:
            copy = complete_kept_copy(copy.id)
        name = file_name(copy.finalised_at, copy.number).removesuffix(".pdf") + f"-{copy.id}"
        files.append((f"agreements/kept/{name}.pdf", copy.pdf))
        text = readable_text(snapshot.from_json(copy.content))
        files.append((f"agreements/kept/{name}.txt", text.encode("utf-8")))
    return files


def file_name(finalised_at: datetime, number: int) -> str:
    """`duet-agreement-2026-12-01-v2.pdf`: the day it became final and its version."""
    return f"duet-agreement-{as_utc(finalised_at).date().isoformat()}-v{number}.pdf"


@exporting.connect
def _export_signatures(user: User, **_extra) -> dict:
    signatures = db.session.scalars(
        select(Signature).where(Signature.user_id == user.id).order_by(Signature.signed_at)
    )
    return {
        "signatures": [
            {
                "full_name": item.full_name,
                "typed": item.typed,
                "drawing_png_base64": base64.b64encode(item.image_png).decode()
                if item.image_png
                else None,
                "content_fingerprint": item.fingerprint,
                "signed_at": as_utc(item.signed_at).isoformat(),
                "voided_at": as_utc(item.voided_at).isoformat() if item.voided_at else None,
                "review_on": item.review_on.isoformat(),
            }
            for item in signatures
        ]
    }
