"""The caution on drafting and signing: for the person whose own check calls for it, only.

A control result, or any answer but "not really" to the fear statement, shows "You don’t
have to sign. An agreement does not make you safe." with a link to the help page, on the
start page, the agreement page (outside the live part) and the signing page.
"""

from app.content import load_library
from tests.unit.test_content import AGREEMENTS

LIBRARY = load_library(AGREEMENTS)
STATEMENTS = LIBRARY.pattern_check.statements
CAUTION = "You don’t have to sign. An agreement does not make you safe."
DRAFT_PAGES = ("/agreement", "/agreement/sign")


def take_check(person, often=(), sometimes=()):
    data = {"note": ""}
    for statement in STATEMENTS:
        data[f"statement_{statement.id}"] = (
            "often"
            if statement.id in often
            else "sometimes"
            if statement.id in sometimes
            else "not-really"
        )
    response = person.post("/reflection/pattern-check", data=data)
    assert response.location == "/reflection/pattern-check/result"


def ids(pattern=None, safety=False):
    return [
        statement.id
        for statement in STATEMENTS
        if statement.safety == safety and (pattern is None or statement.pattern == pattern)
    ]


FEAR = ids(safety=True)
CONTROL = ids("control")


def shows_caution(page: str) -> bool:
    if CAUTION not in page:
        return False
    assert '<a href="/help">Help and support</a>' in page
    return True


def test_the_caution_shows_on_the_start_page_for_a_control_result(partners):
    anna, bram = partners
    take_check(anna, often=CONTROL[:1])
    assert shows_caution(anna.get("/agreement").text)
    assert not shows_caution(bram.get("/agreement").text)


def test_the_caution_shows_while_drafting_and_signing_and_never_to_the_partner(agreed):
    anna, bram = agreed
    take_check(anna, often=CONTROL[:1])
    for path in DRAFT_PAGES:
        assert shows_caution(anna.get(path).text), path
        assert not shows_caution(bram.get(path).text), path
    # Not in the live part that the page fetches again on every change.
    assert CAUTION not in anna.get("/agreement/live").text


def test_fear_alone_is_enough_whatever_the_pattern(agreed):
    anna, bram = agreed
    take_check(anna, sometimes=FEAR)
    assert LIBRARY.pattern_check.pattern("one-off").title.en in (
        anna.get("/reflection/pattern-check/result").text
    )
    for path in DRAFT_PAGES:
        assert shows_caution(anna.get(path).text), path
        assert not shows_caution(bram.get(path).text), path


def test_the_caution_goes_when_the_check_is_deleted(agreed):
    anna, _bram = agreed
    take_check(anna, sometimes=FEAR)
    anna.post("/reflection/pattern-check/forget")
    for path in DRAFT_PAGES:
        assert not shows_caution(anna.get(path).text), path


def test_the_caution_goes_when_the_check_is_taken_again_without_it(agreed):
    anna, _bram = agreed
    take_check(anna, often=CONTROL)
    take_check(anna, often=ids("recurring"))
    for path in DRAFT_PAGES:
        assert not shows_caution(anna.get(path).text), path


def test_no_caution_for_the_other_results(agreed):
    anna, _bram = agreed
    for pattern in ("one-off", "recurring", "using"):
        take_check(anna, often=ids(pattern))
        for path in DRAFT_PAGES:
            assert not shows_caution(anna.get(path).text), (pattern, path)


def test_the_partner_with_their_own_control_result_sees_only_their_own_caution(agreed):
    anna, bram = agreed
    take_check(bram, often=CONTROL[:1])
    assert shows_caution(bram.get("/agreement").text)
    assert not shows_caution(anna.get("/agreement").text)
