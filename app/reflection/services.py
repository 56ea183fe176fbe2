"""Reflection rules: private answers, sharing one at a time, suggestions, the pattern check.

Nothing here ever hands one person's private words to the other: the only way an answer
leaves its author is `shared_answers_of`, which returns shared answers only.
"""

from collections import Counter
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app import live
from app.accounts.models import User
from app.accounts.services import exporting
from app.content.schema import Clause, Library, Prompt, Theme
from app.couple.models import Couple
from app.couple.services import couple_of
from app.db import as_utc, utcnow
from app.extensions import db
from app.forms import shows_nothing
from app.outbox import services as outbox
from app.reflection.models import Answer, PatternCheck

FREQUENCIES = ("not-really", "sometimes", "often")
_WEIGHT = {"not-really": 0, "sometimes": 1, "often": 2}


class ReflectionError(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ThemeProgress:
    theme: Theme
    prompts: list[Prompt]
    answered: int

    @property
    def next_prompt(self) -> Prompt:
        return self.prompts[0]


def answers_of(user: User) -> dict[str, Answer]:
    answers = db.session.scalars(select(Answer).where(Answer.user_id == user.id))
    return {answer.prompt_id: answer for answer in answers}


def answer_to(user: User, prompt: Prompt) -> Answer | None:
    return db.session.scalar(
        select(Answer).where(Answer.user_id == user.id, Answer.prompt_id == prompt.id)
    )


def save_answer(user: User, prompt: Prompt, text: str) -> Answer | None:
    """Store the person's answer; an empty answer removes it (and so un-shares it)."""
    limit = current_app.config["ANSWER_MAX_LENGTH"]
    if len(text) > limit:
        raise ReflectionError(
            "text",
            _(
                "An answer can be at most %(limit)d characters; this one has %(count)d. "
                "Your text is still here.",
                limit=limit,
                count=len(text),
            ),
        )
    answer = answer_to(user, prompt)
    if shows_nothing(text):
        if answer is not None:
            _shared_moved(answer)
            db.session.delete(answer)
            db.session.flush()
        return None
    if answer is None:
        try:
            # Two autosaves may race to create the first answer; the second updates it.
            with db.session.begin_nested():
                answer = Answer(user_id=user.id, prompt_id=prompt.id, text=text)
                db.session.add(answer)
        except IntegrityError:
            answer = answer_to(user, prompt)
    if answer.text != text:
        _shared_moved(answer)
    answer.text = text
    db.session.flush()
    return answer


def _shared_moved(answer: Answer) -> None:
    """The partner's pages follow a shared answer; nothing else of this person's moves
    anything the partner can see, not even a time (docs/safety.md)."""
    if answer.shared_with_couple_id is not None:
        live.moved(answer.shared_with_couple_id, "reflection")


def share_answer(user: User, prompt: Prompt) -> Answer:
    answer = answer_to(user, prompt)
    if answer is None:
        raise ReflectionError("text", _("Write an answer first; then you can share it."))
    couple = couple_of(user)
    if couple is None:
        raise ReflectionError("text", _("You can share an answer once you are in a couple."))
    if answer.shared_with_couple_id != couple.id:
        answer.shared_with_couple_id = couple.id
        _shared_moved(answer)
        # At most one a day for all the answers one partner shares: it says only "new".
        key = f"{user.id}:{utcnow().date().isoformat()}"
        outbox.notify_partner(couple.id, user.id, outbox.Kind.SHARED, key)
    db.session.flush()
    return answer


def unshare_answer(user: User, prompt: Prompt) -> None:
    answer = answer_to(user, prompt)
    if answer is not None and answer.shared_with_couple_id is not None:
        _shared_moved(answer)
        answer.shared_with_couple_id = None
        db.session.flush()


def shared_answers_of(
    author: User, couple: Couple, library: Library
) -> list[tuple[Prompt, Answer]]:
    """What `author` chose to show this couple: shared answers only, in prompt order."""
    shared = {
        answer.prompt_id: answer
        for answer in db.session.scalars(
            select(Answer).where(
                Answer.user_id == author.id, Answer.shared_with_couple_id == couple.id
            )
        )
    }
    return [(prompt, shared[prompt.id]) for prompt in library.prompts if prompt.id in shared]


def progress(user: User, library: Library) -> list[ThemeProgress]:
    answered = set(answers_of(user))
    return [
        ThemeProgress(
            theme=theme,
            prompts=library.prompts_of(theme.id),
            answered=sum(prompt.id in answered for prompt in library.prompts_of(theme.id)),
        )
        for theme in library.themes
    ]


def suggested_clauses(user: User, library: Library) -> list[Clause]:
    """Clauses the person's own answers point to, the most pointed-to first."""
    counts = Counter(
        clause_id
        for prompt_id in answers_of(user)
        if (prompt := library.prompt(prompt_id)) is not None
        for clause_id in prompt.suggests
    )
    order = {clause.id: index for index, clause in enumerate(library.clauses)}
    ranked = sorted(counts, key=lambda clause_id: (-counts[clause_id], order[clause_id]))
    return [library.clause(clause_id) for clause_id in ranked]


def neighbours(library: Library, prompt: Prompt) -> tuple[Prompt | None, Prompt | None]:
    index = library.prompts.index(prompt)
    previous = library.prompts[index - 1] if index > 0 else None
    following = library.prompts[index + 1] if index + 1 < len(library.prompts) else None
    return previous, following


def pattern_for(responses: dict[str, str], library: Library) -> str:
    """Which of the four patterns the responses point to; safety weighs first.

    Control, then using (the person's own silence), each on any "often" or two "sometimes"
    among their statements; then recurring over one-off when it weighs at least as much.
    """
    scores = Counter()
    for statement in library.pattern_check.statements:
        scores[statement.pattern] += _WEIGHT.get(responses.get(statement.id, "not-really"), 0)
    # One "often" weighs 2, as two "sometimes" do.
    for pattern in ("control", "using"):
        if scores[pattern] >= _WEIGHT["often"]:
            return pattern
    if scores["recurring"] and scores["recurring"] >= scores["one-off"]:
        return "recurring"
    return "one-off"


def feels_afraid(responses: dict[str, str], library: Library) -> bool:
    """Any answer but "not really" to a statement marked `safety` (the fear statement)."""
    return any(
        _WEIGHT.get(responses.get(statement.id, "not-really"), 0) > 0
        for statement in library.pattern_check.statements
        if statement.safety
    )


def calls_for_help(check: PatternCheck, library: Library) -> bool:
    """A control result, or fear named at all: help is offered, and signing is not pressed."""
    return check.pattern == "control" or feels_afraid(check.responses, library)


def wants_caution(user: User, library: Library) -> bool:
    """Whether this person's own latest check asks for the caution on drafting and signing.

    Reads only the person's own check: the partner's pages never depend on it.
    """
    check = latest_pattern_check(user)
    return check is not None and calls_for_help(check, library)


def take_pattern_check(
    user: User, responses: dict[str, str], note: str, library: Library
) -> PatternCheck:
    known = {statement.id for statement in library.pattern_check.statements}
    responses = {key: value for key, value in responses.items() if key in known}
    if len(note) > current_app.config["ANSWER_MAX_LENGTH"]:
        raise ReflectionError(
            "note",
            _(
                "A note can be at most %(limit)d characters.",
                limit=current_app.config["ANSWER_MAX_LENGTH"],
            ),
        )
    check = latest_pattern_check(user) or PatternCheck(user_id=user.id)
    check.responses = responses
    check.note = note
    check.pattern = pattern_for(responses, library)
    db.session.add(check)
    db.session.flush()
    return check


def latest_pattern_check(user: User) -> PatternCheck | None:
    return db.session.scalar(select(PatternCheck).where(PatternCheck.user_id == user.id))


def forget_pattern_check(user: User) -> None:
    db.session.execute(delete(PatternCheck).where(PatternCheck.user_id == user.id))


@exporting.connect
def _export_reflection(user: User, **_extra) -> dict:
    check = latest_pattern_check(user)
    return {
        "reflection_answers": [
            {
                "prompt_id": answer.prompt_id,
                "answer": answer.text,
                "shared_with_partner": answer.shared,
                "updated_at": as_utc(answer.updated_at).isoformat(),
            }
            for answer in sorted(answers_of(user).values(), key=lambda answer: answer.prompt_id)
        ],
        "pattern_check": None
        if check is None
        else {
            "responses": check.responses,
            "note": check.note,
            "pattern": check.pattern,
            "taken_at": as_utc(check.taken_at).isoformat(),
        },
    }
