import json
import re

import pytest

from app.content import load_library
from app.extensions import db
from app.reflection.models import Answer
from tests.conftest import PASSWORD
from tests.unit.test_content import AGREEMENTS

LIBRARY = load_library(AGREEMENTS)
FIRST, SECOND = LIBRARY.prompts[0], LIBRARY.prompts[1]


def answer(person, prompt, text, **extra):
    return person.post(f"/reflection/prompts/{prompt.id}", data={"text": text, **extra})


def test_overview_lists_themes_with_progress(person):
    anna = person("Anna")
    page = anna.get("/reflection").text
    for theme in LIBRARY.themes:
        assert theme.en in page
    total = len(LIBRARY.prompts_of(FIRST.theme))
    assert f"0 of {total} answered" in page
    assert answer(anna, FIRST, "It started over the dishes.").status_code == 302
    assert f"1 of {total} answered" in anna.get("/reflection").text


def test_one_prompt_at_a_time_with_back_and_skip(person):
    anna = person("Anna")
    page = anna.get(f"/reflection/prompts/{SECOND.id}").text
    assert SECOND.en in page
    assert f'href="/reflection/prompts/{FIRST.id}"' in page
    assert f'href="/reflection/prompts/{LIBRARY.prompts[2].id}"' in page
    assert "Question 2 of" in page


def test_save_and_go_on_moves_to_the_next_prompt(person):
    anna = person("Anna")
    response = answer(anna, FIRST, "An answer.", save_next="1")
    assert response.location == f"/reflection/prompts/{SECOND.id}"
    assert "An answer." in anna.get(f"/reflection/prompts/{FIRST.id}").text


def test_answers_can_be_edited_and_cleared(person, app):
    anna = person("Anna")
    answer(anna, FIRST, "First thoughts.")
    answer(anna, FIRST, "Second thoughts.")
    page = anna.get(f"/reflection/prompts/{FIRST.id}").text
    assert "Second thoughts." in page and "First thoughts." not in page
    answer(anna, FIRST, "   ")
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Answer.id))) == 0


def test_an_answer_that_is_too_long_is_kept_with_a_message(person, app):
    anna = person("Anna")
    text = "word " * 1001
    response = answer(anna, FIRST, text)
    assert response.status_code == 400
    assert 'id="text-error"' in response.text
    assert "at most 5000 characters" in response.text
    assert text.strip() in response.text
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Answer.id))) == 0


def test_autosave_answers_in_json(person):
    anna = person("Anna")
    response = anna.post(f"/reflection/prompts/{FIRST.id}/autosave", data={"text": "Typing..."})
    assert response.status_code == 200
    assert response.json == {"saved": True, "shared": False}
    assert "Typing..." in anna.get(f"/reflection/prompts/{FIRST.id}").text
    too_long = anna.post(f"/reflection/prompts/{FIRST.id}/autosave", data={"text": "x" * 5001})
    assert too_long.status_code == 400
    assert "at most 5000 characters" in too_long.json["error"]
    assert "Typing..." in anna.get(f"/reflection/prompts/{FIRST.id}").text


def test_an_answer_that_did_not_arrive_keeps_what_was_saved(person):
    anna = person("Anna")
    anna.post(f"/reflection/prompts/{FIRST.id}/autosave", data={"text": "Typing..."})
    autosave = anna.post(f"/reflection/prompts/{FIRST.id}/autosave", data={})
    assert autosave.status_code == 400
    assert autosave.json["saved"] is False
    assert "did not arrive" in autosave.json["error"]
    page = anna.post(f"/reflection/prompts/{FIRST.id}", data={"save": "Save"})
    assert page.status_code == 400
    assert 'id="text-error"' in page.text
    assert "Typing..." in anna.get(f"/reflection/prompts/{FIRST.id}").text


def test_unknown_prompt_is_404(person):
    anna = person("Anna")
    assert anna.get("/reflection/prompts/no-such-prompt").status_code == 404
    assert anna.post("/reflection/prompts/no-such-prompt/share").status_code == 404


def test_sharing_shows_exactly_that_answer_to_the_partner(partners):
    anna, bram = partners
    answer(anna, FIRST, "Shared thought about the dishes.")
    answer(anna, SECOND, "A private thought nobody else reads.")
    assert "Shared thought" not in bram.get("/reflection").text

    assert anna.post(f"/reflection/prompts/{FIRST.id}/share").status_code == 302
    page = bram.get("/reflection").text
    assert "Shared thought about the dishes." in page
    assert "Shared by Anna" in page
    assert FIRST.en in page
    assert "A private thought" not in page
    assert "Shared: Bram can read this answer." in anna.get(f"/reflection/prompts/{FIRST.id}").text

    assert anna.post(f"/reflection/prompts/{FIRST.id}/unshare").status_code == 302
    page = bram.get("/reflection").text
    assert "Shared thought" not in page
    assert "Anna has not shared any answers with you yet." in page


def test_sharing_shows_what_the_partner_will_read_first(partners):
    anna, bram = partners
    url = f"/reflection/prompts/{FIRST.id}/share"
    assert anna.get(url).location == f"/reflection/prompts/{FIRST.id}"  # nothing to share yet
    answer(anna, FIRST, "Shared thought about the dishes.")
    page = anna.get(url)
    assert page.status_code == 200
    assert "Share this answer with Bram?" in page.text
    assert "Shared thought about the dishes." in page.text
    assert "may already have read it" in page.text
    assert f'action="{url}"' in page.text
    assert "Shared thought" not in bram.get("/reflection").text  # showing it shares nothing
    anna.post(url)
    assert anna.get(url).location == f"/reflection/prompts/{FIRST.id}"  # shared already
    assert "Shared thought" in bram.get("/reflection").text
    unshared = anna.post(f"/reflection/prompts/{FIRST.id}/unshare", follow_redirects=True)
    assert "Your partner may already have read it." in unshared.text


def test_a_partners_shared_answers_come_first_on_the_reflection_page(partners):
    anna, bram = partners
    answer(anna, FIRST, "Shared thought about the dishes.")
    anna.post(f"/reflection/prompts/{FIRST.id}/share")
    page = bram.get("/reflection").text
    assert page.index("Shared thought about the dishes.") < page.index('class="themes"')


def test_sharing_needs_an_answer_and_a_couple(person):
    anna = person("Anna")
    anna.post(f"/reflection/prompts/{FIRST.id}/share")
    assert "Write an answer first" in anna.get(f"/reflection/prompts/{FIRST.id}").text
    answer(anna, FIRST, "Something.")
    anna.post(f"/reflection/prompts/{FIRST.id}/share")
    assert "once you are in a couple" in anna.get(f"/reflection/prompts/{FIRST.id}").text


def test_leaving_the_couple_unshares_so_a_new_partner_sees_nothing(partners, person):
    anna, bram = partners
    answer(anna, FIRST, "Meant for Bram only.")
    anna.post(f"/reflection/prompts/{FIRST.id}/share")
    anna.post("/couple/leave", data={"password": PASSWORD})
    cleo = person("Cleo")
    assert cleo.join(anna.create_couple()).status_code == 302
    assert "Meant for Bram only." not in cleo.get("/reflection").text
    assert "Meant for Bram only." not in bram.get("/reflection").text


def test_answers_point_to_clauses(person):
    anna = person("Anna")
    prompt = next(p for p in LIBRARY.prompts if "own-share-first" in p.suggests)
    answer(anna, prompt, "My part was raising my voice.")
    page = anna.get("/reflection").text
    assert "Your answers suggest these clauses" in page
    assert LIBRARY.clause("own-share-first").title.en in page


def _check(person, level_by_pattern: dict, note=""):
    data = {"note": note}
    for statement in LIBRARY.pattern_check.statements:
        data[f"statement_{statement.id}"] = level_by_pattern.get(statement.pattern, "not-really")
    return person.post("/reflection/pattern-check", data=data)


@pytest.mark.parametrize(
    ("levels", "title"),
    [
        ({"one-off": "often"}, "A one-off after a heated moment"),
        ({"recurring": "often", "one-off": "sometimes"}, "Every argument ends in silence"),
        ({"recurring": "often", "control": "sometimes"}, "Silence used to pressure or control"),
    ],
)
def test_pattern_check_explains_what_helps(person, levels, title):
    anna = person("Anna")
    assert _check(anna, levels).location == "/reflection/pattern-check/result"
    page = anna.get("/reflection/pattern-check/result").text
    assert title in page
    assert "What tends to help" in page
    if "control" in levels:
        assert "0800-2000" in page and "112" in page and "findahelpline.com" in page
    else:
        assert "0800-2000" not in page


def test_a_check_sent_without_its_note_field_is_taken(person):
    anna = person("Anna")
    statements = LIBRARY.pattern_check.statements
    data = {f"statement_{statement.id}": "often" for statement in statements}
    assert anna.post("/reflection/pattern-check", data=data).status_code == 302
    result = anna.get("/reflection/pattern-check/result").text
    assert "Silence used to pressure or control" in result


def test_pattern_check_needs_every_statement_and_keeps_the_note(person):
    anna = person("Anna")
    response = anna.post("/reflection/pattern-check", data={"note": "My own note"})
    assert response.status_code == 400
    # Beside each statement (and once more for each in the error summary at the top).
    beside = re.findall(
        r'<p class="error" id="statement_[^"]+-error">Please choose one.</p>', response.text
    )
    assert len(beside) == len(LIBRARY.pattern_check.statements)
    assert response.text.count("Please choose one.") == 2 * len(LIBRARY.pattern_check.statements)
    assert "My own note" in response.text


def test_pattern_check_can_be_deleted(person):
    anna = person("Anna")
    _check(anna, {"one-off": "often"})
    anna.post("/reflection/pattern-check/forget")
    assert anna.get("/reflection/pattern-check/result").location == "/reflection/pattern-check"


STATEMENTS = LIBRARY.pattern_check.statements
FEAR = [statement.id for statement in STATEMENTS if statement.safety]
USING_TITLE = LIBRARY.pattern_check.pattern("using").title.en


def _answer_check(person, answers: dict[str, str], note=""):
    """Answer the check statement by statement: every statement not named is "not really"."""
    data = {"note": note}
    for statement in STATEMENTS:
        data[f"statement_{statement.id}"] = answers.get(statement.id, "not-really")
    return person.post("/reflection/pattern-check", data=data)


LAST_RESULT_LINK = re.compile(
    r'<a [^>]*href="/reflection/pattern-check/result"[^>]*>See my last result</a>'
)


def test_the_check_never_reopens_with_the_last_answers(person):
    anna = person("Anna")
    _check(anna, {"control": "often", "recurring": "sometimes"}, note="Kept-for-me-only")
    page = anna.get("/reflection/pattern-check").text
    assert "Kept-for-me-only" not in page
    assert " checked" not in page
    assert page.count('type="radio"') == 3 * len(STATEMENTS)
    assert 'autocomplete="off"' in page
    # Asked for, the result shows; the answers themselves never.
    assert LAST_RESULT_LINK.search(page)
    overview = anna.get("/reflection").text
    assert LAST_RESULT_LINK.search(overview)
    result = anna.get("/reflection/pattern-check/result").text
    assert "Silence used to pressure or control" in result
    assert "Kept-for-me-only" not in result and " checked" not in result


def test_no_last_result_link_before_a_check_or_after_deleting_it(person):
    anna = person("Anna")
    assert "See my last result" not in anna.get("/reflection/pattern-check").text
    assert "See my last result" not in anna.get("/reflection").text
    _check(anna, {"one-off": "often"})
    anna.post("/reflection/pattern-check/forget")
    assert "See my last result" not in anna.get("/reflection/pattern-check").text
    assert "See my last result" not in anna.get("/reflection").text


def test_the_overview_counts_the_statements(person):
    page = person("Anna").get("/reflection").text
    assert f"A short check of {len(STATEMENTS)} statements" in page


def test_the_check_has_a_section_for_each_side_of_the_silence(person):
    page = person("Anna").get("/reflection/pattern-check").text
    sections = LIBRARY.pattern_check.sections
    assert [section.title.en for section in sections] == [
        "When your partner goes quiet",
        "When you are the one who goes quiet",
    ]
    positions = [page.index(f">{section.title.en}</h2>") for section in sections]
    assert positions == sorted(positions)
    for section, start in zip(sections, positions, strict=True):
        end = page.find("</section>", start)
        for statement in section.statements:
            assert start < page.index(statement.en.replace("'", "&#39;")) < end


def test_fear_alone_brings_help_whatever_the_pattern(person):
    anna = person("Anna")
    _answer_check(anna, dict.fromkeys(FEAR, "sometimes"))
    page = anna.get("/reflection/pattern-check/result").text
    assert LIBRARY.pattern_check.pattern("one-off").title.en in page
    assert "You said you feel afraid of your partner at times." in page
    assert "0800-2000" in page and "112" in page and "findahelpline.com" in page


def test_the_control_result_recommends_support_for_you_alone(person, client):
    anna = person("Anna")
    _check(anna, {"control": "often"})
    result = anna.get("/reflection/pattern-check/result").text
    help_page = client.get("/help").text
    for page in (result, help_page):
        assert "couples therapist" not in page.lower()
        assert "alone or together" not in page
        assert "when you both want to change" not in page
        assert "A counsellor just for you" in page
        assert "such as couples therapy, are usually not advised" in page
    assert "Support for you alone" in result
    assert "You said you feel afraid" not in result


def test_the_using_result_speaks_to_the_one_who_goes_quiet(person):
    anna = person("Anna")
    using = [statement.id for statement in STATEMENTS if statement.pattern == "using"]
    _answer_check(anna, dict.fromkeys(using[:2], "sometimes"))
    page = anna.get("/reflection/pattern-check/result").text
    assert USING_TITLE in page
    assert "announce a pause and say when you will be back" in page
    assert "Veilig Thuis (0800-2000) also advises people who worry about their own behaviour" in (
        page
    )
    assert '<a class="button" href="/agreement">Draft your agreement</a>' in page
    assert 'href="/reflection"' in page
    # Not afraid: no resources for someone in danger.
    assert "In danger right now" not in page


def test_help_page_is_public_with_quick_exit(client, person):
    page = client.get("/help").text
    assert "0800-2000" in page and "112" in page
    assert "data-quick-exit" in page
    assert "History" in page
    anna = person("Anna")
    for path in ("/reflection", f"/reflection/prompts/{FIRST.id}", "/reflection/pattern-check"):
        assert 'class="quick-exit" href="/exit"' in anna.get(path).text


def test_export_holds_own_answers_and_check_only(partners):
    anna, bram = partners
    answer(anna, FIRST, "Anna's private words.")
    answer(anna, SECOND, "Anna's shared words.")
    anna.post(f"/reflection/prompts/{SECOND.id}/share")
    _check(anna, {"control": "often"}, note="Anna's note")
    mine = anna.export()[0]
    assert {item["answer"] for item in mine["reflection_answers"]} == {
        "Anna's private words.",
        "Anna's shared words.",
    }
    assert mine["pattern_check"]["pattern"] == "control"
    assert mine["pattern_check"]["note"] == "Anna's note"
    theirs, files = bram.export()
    assert "Anna's" not in json.dumps(theirs) and not files
    assert theirs["pattern_check"] is None


def test_deleting_the_account_deletes_the_answers(person, app):
    anna = person("Anna")
    answer(anna, FIRST, "Words.")
    _check(anna, {"one-off": "often"})
    anna.post("/settings/delete", data={"password": PASSWORD})
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Answer.id))) == 0
