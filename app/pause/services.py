"""The pause rules: how long, how much longer, who may do what. No request, and no clock of
their own: every function that depends on the time takes `now` (an aware datetime).

The values come from the couple's latest final agreement, read once through its snapshot
(`final_terms`): the signal from "Tell me you need space", the length from "A pause has an
end". The limits come from the research on flooding and time-outs (docs/architecture.md,
"The pause"): at least 20 minutes, since the body needs about that long to settle, and
never more than a day in all, or it starts to feel like a punishment.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select

from app import live
from app.accounts.models import User
from app.accounts.services import exporting
from app.content.schema import Library
from app.couple.models import Couple, Membership
from app.db import as_utc
from app.extensions import db
from app.forms import is_ordinary, strip
from app.outbox import services as outbox
from app.pause.models import NOTE_MAX_LENGTH, PART_MAX_LENGTH, Pause, SoftStart
from app.signing import pdf
from app.signing import services as signing
from app.transaction import locked

SHORTEST = timedelta(minutes=20)  # the body needs about this long to calm down
LONGEST = timedelta(hours=24)  # from the start, extensions included: longer feels like a punishment
MORNING = time(8, 0)  # "tomorrow morning", in the app's time zone

# The clauses the rules read, by template id.
SIGNAL_CLAUSE = "ask-for-space"
LENGTH_CLAUSE = "pause-has-a-limit"
TALK_CLAUSE = "talk-once-calm"  # talk within {hours} of being calm again
REST_CLAUSE = "topic-rests"  # leave the topic alone for {hours} after making up


@dataclass(frozen=True)
class Step:
    """A step of the ladder "I need more time": a length, or until tomorrow morning."""

    id: str
    label: str
    length: timedelta | None


#: Terry Real's ladder, shortened: each "I need more time" offers the next step.
LADDER = (
    Step("20-minutes", _l("20 minutes more"), timedelta(minutes=20)),
    Step("1-hour", _l("An hour more"), timedelta(hours=1)),
    Step("2-hours", _l("Two hours more"), timedelta(hours=2)),
    Step("tomorrow-morning", _l("Until tomorrow morning"), None),
)

#: What the partner may send during a pause, and nothing else: one of these, once.
REASSURANCES = {
    "take-your-time": _l("Take your time. I'm here."),
    "no-hurry": _l("No hurry. I'll be here when you're ready."),
    "thinking-of-you": _l("Thinking of you. We'll talk later."),
}


class PauseError(Exception):
    """A refused change; `field` says what it was about, `message` is for the person."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class PauseTerms:
    """What the couple's final agreement says about pausing, as it was signed."""

    agreement_id: int
    language: str
    signal: str | None  # "Tell me you need space", if they agreed it
    minutes: int  # the pause length they agreed: the default return time
    longest: int  # the longest first pause: the agreed length, or the template's maximum
    clauses: tuple[pdf.PdfClause, ...]  # every clause, for the pages ("while we pause", ...)

    def clause(self, template: str) -> pdf.PdfClause | None:
        return next((clause for clause in self.clauses if clause.template == template), None)


def terms_of(agreement_id: int, content: pdf.PdfAgreement, library: Library) -> PauseTerms:
    """The pause terms in a final agreement's snapshot. Without "A pause has an end" the
    template's own default is the length and its maximum the longest."""
    clauses = {clause.template: clause for clause in content.clauses if clause.template}
    signal = clauses[SIGNAL_CLAUSE].value("signal") if SIGNAL_CLAUSE in clauses else None
    limit = library.clause(LENGTH_CLAUSE).param("minutes")
    if LENGTH_CLAUSE in clauses:
        minutes = longest = int(clauses[LENGTH_CLAUSE].value("minutes", limit.default))
    else:
        minutes, longest = limit.default, limit.max
    return PauseTerms(
        agreement_id=agreement_id,
        language=content.language,
        signal=signal,
        minutes=minutes,
        longest=longest,
        clauses=content.clauses,
    )


def final_terms(couple: Couple, library: Library) -> PauseTerms | None:
    """The terms of the couple's latest final version, or None before they signed one."""
    versions = signing.final_versions(couple)
    if not versions:
        return None
    agreement, document = versions[0]
    return terms_of(agreement.id, signing.content_of(document, library), library)


def app_zone() -> ZoneInfo:
    """The time zone "tomorrow morning" is meant in: the app's own."""
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


# --- Reading a pause ----------------------------------------------------------------------


def ends_at(pause: Pause) -> datetime:
    """A pause never lasts longer than this, however often it was moved on."""
    return as_utc(pause.started_at) + LONGEST


def state_at(pause: Pause, now: datetime) -> str:
    """The state at `now`: "asked" until the return time, "overrun" after it with no word,
    "ready" once the one who asked said so, "ended" once it ran a day without that."""
    if pause.state != "asked":
        return pause.state
    if now >= ends_at(pause):
        return "ended"
    return "overrun" if now > as_utc(pause.back_by) else "asked"


def is_open(pause: Pause, now: datetime) -> bool:
    return state_at(pause, now) in ("asked", "overrun")


def open_pause(couple: Couple, now: datetime) -> Pause | None:
    """The couple's pause that is still on, if any."""
    pause = db.session.scalar(select(Pause).where(Pause.open_couple_id == couple.id))
    return pause if pause is not None and is_open(pause, now) else None


def latest_pause(couple: Couple) -> Pause | None:
    """The couple's most recent pause, on or over (what the pages show)."""
    return db.session.scalar(
        select(Pause)
        .where(Pause.couple_id == couple.id)
        .order_by(Pause.started_at.desc(), Pause.id.desc())
        .limit(1)
    )


def pause_of(couple: Couple, pause_id: int) -> Select:
    """The statement for one of this couple's pauses (for `owned_or_404`)."""
    return select(Pause).where(Pause.couple_id == couple.id, Pause.id == pause_id)


def pauses_since(couple: Couple, since: datetime) -> list[Pause]:
    """The couple's pauses begun since `since`, oldest first (for the review)."""
    return list(
        db.session.scalars(
            select(Pause)
            .where(Pause.couple_id == couple.id, Pause.started_at >= since)
            .order_by(Pause.started_at, Pause.id)
        )
    )


def tomorrow_morning(moment: datetime, zone: ZoneInfo) -> datetime:
    """The first 08:00 in `zone` after `moment`: asked at 23:40 or at 01:10, the morning
    that follows the night. Daylight saving time moves the hours between, never 08:00."""
    local = moment.astimezone(zone)
    morning = datetime.combine(local.date(), MORNING, tzinfo=zone)
    if morning <= local:
        morning = datetime.combine(local.date() + timedelta(days=1), MORNING, tzinfo=zone)
    return morning.astimezone(UTC)


def next_step(pause: Pause) -> Step:
    """The step "I need more time" offers now: 20 minutes first, then an hour, two hours,
    and from then on tomorrow morning."""
    return LADDER[min(pause.extensions, len(LADDER) - 1)]


def step_time(pause: Pause, step: Step, now: datetime, zone: ZoneInfo) -> datetime:
    """The return time `step` would give: counted from the current return time, or from now
    when that has passed, and cut to a day after the start."""
    base = max(now, as_utc(pause.back_by))
    wanted = tomorrow_morning(base, zone) if step.length is None else base + step.length
    return min(wanted, ends_at(pause))


def step_named(step_id: str | None, pause: Pause) -> Step:
    if step_id is None:
        return next_step(pause)
    step = next((step for step in LADDER if step.id == step_id), None)
    if step is None:
        raise PauseError("step", _("Please choose one of the times offered."))
    return step


# --- Changing a pause ---------------------------------------------------------------------


def _partner_in(couple: Couple, user: User) -> None:
    if user.id not in {partner.id for partner in couple.partners}:
        raise PauseError("pause", _("Only the two of you can pause your own talks."))


def _close_if_over(pause: Pause, now: datetime) -> None:
    """An asked pause that ran a day without a word ends on its own."""
    if pause.state == "asked" and state_at(pause, now) == "ended":
        pause.state = "ended"
        pause.ended_at = ends_at(pause)
        pause.open_couple_id = None


def ask(
    couple: Couple,
    user: User,
    library: Library,
    *,
    minutes: int | None = None,
    note: str | None = None,
    now: datetime,
) -> Pause:
    """`user` asks for a pause for themselves (there is no way to ask for the partner), back
    after the agreed length, or after `minutes` within 20 and the agreed length."""
    _partner_in(couple, user)
    terms = final_terms(couple, library)
    if terms is None:
        raise PauseError(
            "pause", _("A pause follows your signed agreement. Sign one together first.")
        )
    minutes = terms.minutes if minutes is None else minutes
    if not isinstance(minutes, int) or isinstance(minutes, bool):
        raise PauseError("minutes", _("Please give the length in whole minutes."))
    shortest = int(SHORTEST.total_seconds() // 60)
    if not shortest <= minutes <= terms.longest:
        raise PauseError(
            "minutes",
            _(
                "A pause lasts from %(shortest)d to %(longest)d minutes, as you agreed.",
                shortest=shortest,
                longest=terms.longest,
            ),
        )
    if timedelta(minutes=minutes) > LONGEST:
        raise PauseError("minutes", _("A pause lasts at most a day."))
    note = strip(note or "") or None
    if note is not None and not is_ordinary(note, NOTE_MAX_LENGTH):
        raise PauseError(
            "note",
            _(
                "Please keep the note to at most %(count)d ordinary characters.",
                count=NOTE_MAX_LENGTH,
            ),
        )

    # Locked, so that two asks at once are taken one after the other.
    couple = locked(Couple, couple.id)
    if couple is None:  # it ended meanwhile
        raise PauseError("pause", _("Only the two of you can pause your own talks."))
    current = db.session.scalar(select(Pause).where(Pause.open_couple_id == couple.id))
    if current is not None:
        _close_if_over(current, now)
        if current.state == "asked":
            raise PauseError("pause", _("There is a pause already. It has to end first."))
        db.session.flush()
    pause = Pause(
        couple_id=couple.id,
        open_couple_id=couple.id,
        asked_by_id=user.id,
        agreement_id=terms.agreement_id,
        state="asked",
        started_at=now,
        back_by=now + timedelta(minutes=minutes),
        note=note,
    )
    db.session.add(pause)
    db.session.flush()
    live.moved(couple.id, "pause")
    outbox.notify_partner(couple.id, user.id, outbox.Kind.PAUSE, str(pause.id))
    _remind(pause)
    return pause


def _remind(pause: Pause) -> None:
    """A reminder to the one who paused at the time they gave, replacing an earlier one."""
    outbox.cancel(outbox.Kind.PAUSE_TIME, f"{pause.id}:")
    back_by = as_utc(pause.back_by)
    key = f"{pause.id}:{back_by.isoformat()}"
    outbox.notify([pause.asked_by_id], outbox.Kind.PAUSE_TIME, key, due_at=back_by)


def _locked_pause(pause: Pause, user: User, now: datetime) -> Pause:
    """The pause, read afresh and locked, if `user` is one of the two; ended first if it ran
    a day without a word. Every change to a pause starts here."""
    pause = locked(Pause, pause.id)
    couple = db.session.get(Couple, pause.couple_id) if pause is not None else None
    if couple is None:
        raise PauseError("pause", _("This pause is over."))
    _partner_in(couple, user)
    _close_if_over(pause, now)
    return pause


def _own_open_pause(pause: Pause, user: User, now: datetime) -> Pause:
    """The pause, read afresh and locked, if `user` asked for it and it is still on."""
    pause = _locked_pause(pause, user, now)
    if user.id != pause.asked_by_id:
        raise PauseError("pause", _("Only the one who asked for the pause can change it."))
    if not is_open(pause, now):
        raise PauseError("pause", _("This pause is over."))
    return pause


def extend(
    pause: Pause,
    user: User,
    step: str | None = None,
    *,
    now: datetime,
    zone: ZoneInfo | None = None,
) -> Pause:
    """For "I need more time": the next step of the ladder (or the step named), never past a day
    after the start; a step that would pass it stops there."""
    pause = _own_open_pause(pause, user, now)
    chosen = step_named(step, pause)
    if as_utc(pause.back_by) >= ends_at(pause):
        raise PauseError(
            "step",
            _("A pause lasts at most a day. Come back now, even if only to say how you are."),
        )
    pause.back_by = step_time(pause, chosen, now, zone or app_zone())
    pause.extensions += 1
    live.moved(pause.couple_id, "pause")
    key = f"{pause.id}:{pause.extensions}"
    outbox.notify_partner(pause.couple_id, user.id, outbox.Kind.PAUSE_MORE, key)
    _remind(pause)
    return pause


def ready(pause: Pause, user: User, *, now: datetime) -> Pause:
    """For "I'm ready to talk": the pause is over, and the partner is told."""
    pause = _own_open_pause(pause, user, now)
    pause.state = "ready"
    pause.ready_at = now
    pause.open_couple_id = None
    live.moved(pause.couple_id, "pause")
    outbox.notify_partner(pause.couple_id, user.id, outbox.Kind.PAUSE_BACK, str(pause.id))
    outbox.cancel(outbox.Kind.PAUSE_TIME, f"{pause.id}:")
    return pause


def reassure(pause: Pause, user: User, message_id: str, *, now: datetime) -> Pause:
    """The partner's one pre-written word to the one who paused; nothing else can be sent,
    and the partner cannot end or shorten the pause."""
    pause = _locked_pause(pause, user, now)
    if user.id == pause.asked_by_id:
        raise PauseError("message", _("This word is for your partner to send you."))
    if not is_open(pause, now):
        raise PauseError("pause", _("This pause is over."))
    if message_id not in REASSURANCES:
        raise PauseError("message", _("Please choose one of the messages offered."))
    if pause.reassurance is not None:
        raise PauseError("message", _("You have sent your word for this pause already."))
    pause.reassurance = message_id
    pause.reassured_at = now
    live.moved(pause.couple_id, "pause")
    return pause


# --- The way back into the talk ----------------------------------------------------------
#
# Once the one who paused is back (or the pause ended on its own), each partner can write a
# softened start, read it, and share it; either chooses who starts; if they agreed to let
# the topic rest afterwards, either can start that rest. A start is its writer's alone
# until shared: `soft_starts` never gives the partner's unshared one.

SOFT_START_PARTS = ("feel", "about", "need")


def way_back_open(pause: Pause, now: datetime) -> bool:
    """The way back opens when the pause is over: ready, or ended after a day."""
    return state_at(pause, now) in ("ready", "ended")


def talk_by(pause: Pause, terms: PauseTerms) -> datetime | None:
    """When the couple's "talk once calm" clause says they talk at the latest: its hours,
    counted from the moment the one who paused was back."""
    clause = terms.clause(TALK_CLAUSE)
    if clause is None:
        return None
    back = as_utc(pause.ready_at) if pause.ready_at is not None else ends_at(pause)
    return back + timedelta(hours=int(clause.value("hours", 24)))


def rest_hours(terms: PauseTerms) -> int | None:
    """The hours the couple agreed to leave the topic alone, if they agreed to."""
    clause = terms.clause(REST_CLAUSE)
    return None if clause is None else int(clause.value("hours", 24))


def soft_starts(pause: Pause, viewer: User) -> tuple[SoftStart | None, SoftStart | None]:
    """The viewer's own start, shared or not, and the partner's, only once shared."""
    starts = db.session.scalars(select(SoftStart).where(SoftStart.pause_id == pause.id)).all()
    own = next((start for start in starts if start.user_id == viewer.id), None)
    theirs = next((s for s in starts if s.user_id != viewer.id and s.shared_at is not None), None)
    return own, theirs


def sentence(start: SoftStart) -> str:
    """The start as one sentence, in the language its writer wrote it in."""
    with force_locale(start.language):
        return _(
            "I feel %(feel)s about %(about)s and I need %(need)s.",
            feel=start.feel.rstrip(".!? "),
            about=start.about.rstrip(".!? "),
            need=start.need.rstrip(".!? "),
        )


def _closed_pause(pause: Pause, user: User, now: datetime) -> Pause:
    """The pause, read afresh and locked, if `user` is one of the two and it is over."""
    pause = _locked_pause(pause, user, now)
    if not way_back_open(pause, now):
        raise PauseError("pause", _("The way back opens when the pause is over."))
    return pause


def write_start(
    pause: Pause, user: User, parts: dict[str, str | None], *, language: str, now: datetime
) -> SoftStart:
    """Write or rewrite `user`'s own start; it stays theirs alone until they share it.
    Once shared, it is as it was read: the partner may have read it already."""
    pause = _closed_pause(pause, user, now)
    errors = {}
    values = {}
    for name in SOFT_START_PARTS:
        value = strip(parts.get(name) or "")
        if not value:
            errors[name] = _("Please write a few words here.")
        elif not is_ordinary(value, PART_MAX_LENGTH):
            errors[name] = _(
                "Please keep this to at most %(count)d ordinary characters.",
                count=PART_MAX_LENGTH,
            )
        values[name] = value
    if errors:
        raise SoftStartError(errors)
    start = db.session.scalar(
        select(SoftStart).where(SoftStart.pause_id == pause.id, SoftStart.user_id == user.id)
    )
    if start is not None and start.shared_at is not None:
        raise PauseError("start", _("You have shared your start already."))
    if start is None:
        start = SoftStart(pause_id=pause.id, user_id=user.id, **values, language=language)
        db.session.add(start)
    else:
        for name, value in values.items():
            setattr(start, name, value)
        start.language = language
    start.written_at = now
    db.session.flush()
    return start


def share_start(pause: Pause, user: User, *, now: datetime) -> SoftStart:
    """Share `user`'s start, as they read it, with the partner."""
    pause = _closed_pause(pause, user, now)
    start = db.session.scalar(
        select(SoftStart).where(SoftStart.pause_id == pause.id, SoftStart.user_id == user.id)
    )
    if start is None:
        raise PauseError("start", _("Write your start first, then share it."))
    if start.shared_at is None:
        start.shared_at = now
        live.moved(pause.couple_id, "pause")
        outbox.notify_partner(pause.couple_id, user.id, outbox.Kind.PAUSE_START, str(start.id))
    return start


def choose_starter(pause: Pause, user: User, who: str, *, now: datetime) -> Pause:
    """Either partner says who begins the talk: "me" or "partner". Choosing again changes
    it: it is a choice the two make together, not a right."""
    pause = _closed_pause(pause, user, now)
    couple = db.session.get(Couple, pause.couple_id)
    if who == "me":
        pause.starter_id = user.id
    elif who == "partner":
        pause.starter_id = next(p.id for p in couple.partners if p.id != user.id)
    else:
        raise PauseError("starter", _("Please choose who starts."))
    live.moved(pause.couple_id, "pause")
    return pause


def rest_topic(pause: Pause, user: User, terms: PauseTerms, *, now: datetime) -> Pause:
    """After the talk: leave the topic alone for the hours the couple agreed, from now."""
    pause = _closed_pause(pause, user, now)
    hours = rest_hours(terms)
    if hours is None:
        raise PauseError("rest", _("Your agreement has no rest for the topic."))
    if pause.rests_until is None or as_utc(pause.rests_until) <= now:
        pause.rests_until = now + timedelta(hours=hours)
        live.moved(pause.couple_id, "pause")
    return pause


class SoftStartError(Exception):
    """A start that cannot be kept as written: a message for each part that needs a change."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


@exporting.connect
def _export_pauses(user: User, **_extra) -> dict:
    """The pauses this person asked for, with their note, and the words they sent during
    the partner's; never the partner's own note."""
    asked = db.session.scalars(
        select(Pause).where(Pause.asked_by_id == user.id).order_by(Pause.started_at, Pause.id)
    )
    couple_ids = select(Membership.couple_id).where(Membership.user_id == user.id)
    sent = db.session.scalars(
        select(Pause)
        .where(
            Pause.couple_id.in_(couple_ids),
            Pause.asked_by_id != user.id,
            Pause.reassurance.is_not(None),
        )
        .order_by(Pause.started_at, Pause.id)
    )

    def moment(value: datetime | None) -> str | None:
        return as_utc(value).isoformat() if value is not None else None

    own_starts = db.session.scalars(
        select(SoftStart).where(SoftStart.user_id == user.id).order_by(SoftStart.written_at)
    )
    return {
        "soft_starts_written": [
            {
                "feel": start.feel,
                "about": start.about,
                "need": start.need,
                "written_at": moment(start.written_at),
                "shared_at": moment(start.shared_at),
            }
            for start in own_starts
        ],
        "pauses_asked": [
            {
                "started_at": moment(pause.started_at),
                "back_by": moment(pause.back_by),
                "note": pause.note,
                "times_more_asked": pause.extensions,
                "state": pause.state,
                "ready_at": moment(pause.ready_at),
                "ended_at": moment(pause.ended_at),
            }
            for pause in asked
        ],
        "pause_words_sent": [
            {"message": pause.reassurance, "sent_at": moment(pause.reassured_at)} for pause in sent
        ],
    }
