"""The rule that turns pattern-check answers into a result, and when help is offered.

Built from the real library by pattern and by the `safety` flag, so a new statement is
covered without anyone remembering it.
"""

import pytest

from app.content import load_library
from app.reflection.models import PatternCheck
from app.reflection.services import calls_for_help, feels_afraid, pattern_for
from tests.unit.test_content import AGREEMENTS

LIBRARY = load_library(AGREEMENTS)
STATEMENTS = LIBRARY.pattern_check.statements


def _ids(pattern: str, safety: bool = False) -> list[str]:
    return [s.id for s in STATEMENTS if s.pattern == pattern and s.safety == safety]


FEAR = [s.id for s in STATEMENTS if s.safety]
CONTROL, USING, RECURRING, ONE_OFF = (_ids(p) for p in ("control", "using", "recurring", "one-off"))


def _answers(often=(), sometimes=()) -> dict[str, str]:
    answers = {s.id: "not-really" for s in STATEMENTS}
    answers.update(dict.fromkeys(sometimes, "sometimes"))
    answers.update(dict.fromkeys(often, "often"))
    return answers


def _result(answers):
    pattern = pattern_for(answers, LIBRARY)
    help_shown = calls_for_help(PatternCheck(responses=answers, pattern=pattern), LIBRARY)
    return pattern, feels_afraid(answers, LIBRARY), help_shown


def test_the_library_has_statements_of_every_kind_the_table_needs():
    assert FEAR and len(CONTROL) >= 2 and len(USING) == 3 and len(RECURRING) >= 2
    assert len(ONE_OFF) >= 2


# Alone: "often" on a statement leads to its own pattern; "sometimes" weighs too little for
# control or using, so it falls through to recurring or one-off.
ALONE = {"often": {}, "sometimes": {"control": "one-off", "using": "one-off"}}


@pytest.mark.parametrize("level", ["often", "sometimes"])
@pytest.mark.parametrize("statement", STATEMENTS, ids=[s.id for s in STATEMENTS])
def test_every_statement_alone(statement, level):
    expected = ALONE[level].get(statement.pattern, statement.pattern)
    pattern, afraid, help_shown = _result(_answers(**{level: [statement.id]}))
    assert pattern == expected
    assert afraid is statement.safety
    assert help_shown is (statement.safety or expected == "control")


TABLE = {
    "all not really": ({}, ("one-off", False, False)),
    "fear alone, sometimes: help with a one-off": (
        {"sometimes": FEAR},
        ("one-off", True, True),
    ),
    "fear alone, often": ({"often": FEAR}, ("control", True, True)),
    "two control statements sometimes": ({"sometimes": CONTROL[:2]}, ("control", False, True)),
    "control outweighs using": ({"often": [CONTROL[0], *USING]}, ("control", False, True)),
    "control sometimes twice outweighs using often": (
        {"often": USING, "sometimes": CONTROL[:2]},
        ("control", False, True),
    ),
    "using often": ({"often": USING[:1]}, ("using", False, False)),
    "using sometimes twice": ({"sometimes": USING[:2]}, ("using", False, False)),
    "using outweighs recurring": (
        {"often": [*RECURRING, USING[0]]},
        ("using", False, False),
    ),
    "using with fear sometimes: help too": (
        {"often": USING[:1], "sometimes": FEAR},
        ("using", True, True),
    ),
    "using once and control once, sometimes: neither": (
        {"sometimes": [USING[0], CONTROL[0]]},
        ("one-off", False, False),
    ),
    "using sometimes with recurring sometimes": (
        {"sometimes": [USING[0], RECURRING[0]]},
        ("recurring", False, False),
    ),
    "recurring ties with one-off": (
        {"sometimes": [RECURRING[0], ONE_OFF[0]]},
        ("recurring", False, False),
    ),
    "one-off outweighs recurring": (
        {"often": ONE_OFF[:1], "sometimes": RECURRING[:1]},
        ("one-off", False, False),
    ),
    "recurring outweighs one-off": (
        {"often": RECURRING[:1], "sometimes": ONE_OFF[:1]},
        ("recurring", False, False),
    ),
}


@pytest.mark.parametrize("case", TABLE, ids=list(TABLE))
def test_the_rule(case):
    levels, expected = TABLE[case]
    assert _result(_answers(**levels)) == expected


def test_missing_or_unknown_answers_weigh_nothing():
    assert pattern_for({}, LIBRARY) == "one-off"
    assert not feels_afraid({}, LIBRARY)
    assert pattern_for(dict.fromkeys(CONTROL + FEAR + USING, "always"), LIBRARY) == "one-off"
    assert not feels_afraid(dict.fromkeys(FEAR, "always"), LIBRARY)
