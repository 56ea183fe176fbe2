"""One round of errors: a form sent back names every problem at once, next to each field and
in an error summary at the top of the page whose links lead to those fields."""

import re
from html import unescape

import pytest

from app.content import library
from tests.conftest import PASSWORD
from tests.integration.signing_helpers import png_data_url

RIGHT_PASSWORD_HINT = "Your password was right. It is not kept on the page"


def summary(page: str) -> list[tuple[str, str]]:
    """The error summary's links as (target id, text), after checking each target is there."""
    found = re.search(r'<div class="error-summary" data-error-summary>(.*?)</ul>', page, re.S)
    assert found, "no error summary on the page"
    box = found.group(1)
    assert 'role="alert"' in box
    assert "There is a problem" in box
    links = [
        (target, " ".join(unescape(re.sub(r"<[^>]+>", " ", text)).split()))
        for target, text in re.findall(r'<a href="#([^"]+)">(.*?)</a>', box, re.S)
    ]
    for target, _text in links:
        assert page.count(f'id="{target}"') == 1, f"the summary links to #{target}: not once there"
    return links


def inline_error(page: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', page)
    assert found, f"no message beside {field}"
    return unescape(found.group(1))


def title(page: str) -> str:
    return unescape(re.search(r"<title>([^<]*)</title>", page).group(1))


def test_a_page_without_errors_has_no_summary(client):
    page = client.get("/register").text
    assert "error-summary" not in page
    assert title(page) == "Create your account · Duet"


# --- Signing ----------------------------------------------------------------------------------

SIGN_MESSAGES = {
    "full_name": "Please type your full name.",
    "signature": "Please draw your signature, or type it instead.",
    "review_on": "Please choose a date within the coming year.",
    "agreed": "Please tick the box to say you agree.",
    "password": "Please enter your password.",
}


def test_the_empty_sign_form_names_every_problem_at_once(agreed):
    anna, _bram = agreed
    response = anna.post("/agreement/sign", data={})
    assert response.status_code == 400
    page = response.text
    for field, message in SIGN_MESSAGES.items():
        assert inline_error(page, field) == message
    # In the order of the page; the drawing's problem leads to "type instead", which is
    # there without JavaScript too.
    assert summary(page) == [
        ("full_name", SIGN_MESSAGES["full_name"]),
        ("typed", SIGN_MESSAGES["signature"]),
        ("review_on", SIGN_MESSAGES["review_on"]),
        ("agreed", SIGN_MESSAGES["agreed"]),
        ("password", SIGN_MESSAGES["password"]),
    ]
    assert title(page) == "Error: Sign your agreement · Duet"


def test_a_wrong_password_is_named_with_the_other_problems(agreed):
    anna, _bram = agreed
    response = anna.post(
        "/agreement/sign",
        data={"password": "not my password", "typed": "y", "signature": ""},
    )
    assert response.status_code == 400
    targets = [target for target, _text in summary(response.text)]
    assert targets == ["full_name", "review_on", "agreed", "password"]
    assert inline_error(response.text, "password") == "That is not your password."


def test_a_right_password_with_other_problems_is_asked_for_again(agreed):
    anna, _bram = agreed
    drawing = png_data_url()
    response = anna.post(
        "/agreement/sign",
        data={"full_name": "Anna Lou", "signature": drawing, "password": PASSWORD},
    )
    assert response.status_code == 400
    page = response.text
    assert [target for target, _text in summary(page)] == ["review_on", "agreed"]
    assert RIGHT_PASSWORD_HINT in page
    assert 'id="password-error"' not in page
    # Nothing typed is lost, and the password is never sent back.
    assert 'value="Anna Lou"' in page
    assert f'value="{drawing}"' in page
    assert PASSWORD not in page


def test_a_refused_agreement_lists_no_fields_it_does_not_show(partners):
    anna, _bram = partners
    anna.post("/agreement/start", data={"language": "en", "starter": "basic"})
    response = anna.post("/agreement/sign", data={})
    assert response.status_code == 409
    assert "Every clause needs a yes from both of you" in response.text
    assert "error-summary" not in response.text


def test_without_javascript_the_pad_is_hidden_and_typing_is_ticked(agreed):
    anna, _bram = agreed
    page = anna.get("/agreement/sign").text
    drawing = re.search(r'<div class="signature-drawing" data-signature-field( hidden)?>', page)
    assert drawing and drawing.group(1), "the pad and Erase are shown before sign.js runs"
    assert re.search(r'<input checked id="typed"|<input[^>]*id="typed"[^>]*checked', page)
    assert "data-fresh" in page  # sign.js unticks it and shows the pad


# --- The pattern check --------------------------------------------------------------------------


def test_the_empty_pattern_check_lists_every_statement(person, app):
    anna = person("Anna")
    response = anna.post("/reflection/pattern-check", data={"note": "My own note"})
    assert response.status_code == 400
    page = response.text
    with app.app_context():
        check = library().pattern_check
        in_page_order = [
            statement for section in check.sections for statement in section.statements
        ]
    links = summary(page)
    assert [target for target, _text in links] == [
        f"statement_{statement.id}-0" for statement in in_page_order
    ]
    # Each line says which statement it is about, before the short message.
    assert [text for _target, text in links] == [
        f"{statement.text('en')} Please choose one." for statement in in_page_order
    ]
    for statement in in_page_order:
        assert inline_error(page, f"statement_{statement.id}") == "Please choose one."
    assert "My own note" in page
    assert title(page) == "Error: Duet"  # still no name for the page in the tab


def test_a_long_note_is_named_with_the_unanswered_statements(person, app):
    anna = person("Anna")
    limit = app.config["ANSWER_MAX_LENGTH"]
    response = anna.post("/reflection/pattern-check", data={"note": "x" * (limit + 1)})
    assert response.status_code == 400
    assert summary(response.text)[-1] == ("note", f"A note can be at most {limit} characters.")


# --- Accounts -----------------------------------------------------------------------------------


def test_the_empty_register_form_names_every_field(client):
    response = client.post("/register", data={})
    assert response.status_code == 400
    page = response.text
    assert summary(page) == [
        ("email", "Please enter your email address."),
        ("display_name", "Please enter a name."),
        ("password", "Please choose a password."),
    ]
    for field in ("email", "display_name", "password"):
        assert inline_error(page, field)


def test_a_taken_email_is_named_with_the_other_problems(person, client):
    anna = person("Anna")
    response = client.post(
        "/register", data={"email": anna.email, "display_name": "", "password": "short"}
    )
    assert response.status_code == 400
    assert [target for target, _text in summary(response.text)] == [
        "email",
        "display_name",
        "password",
    ]
    assert "already has an account" in inline_error(response.text, "email")


def test_a_wrong_current_password_is_named_with_a_short_new_one(person):
    anna = person("Anna")
    response = anna.post(
        "/settings/password", data={"current_password": "not mine", "new_password": "short"}
    )
    assert response.status_code == 400
    assert [target for target, _text in summary(response.text)] == [
        "current_password",
        "new_password",
    ]
    assert inline_error(response.text, "current_password") == "That is not your current password."


def test_a_right_current_password_is_asked_for_again(person):
    anna = person("Anna")
    response = anna.post(
        "/settings/password", data={"current_password": PASSWORD, "new_password": "short"}
    )
    assert response.status_code == 400
    assert [target for target, _text in summary(response.text)] == ["new_password"]
    assert RIGHT_PASSWORD_HINT in response.text


@pytest.mark.parametrize(
    ("path", "data", "fields"),
    [
        ("/login", {}, ["email", "password"]),
        ("/forgot-password", {}, ["email"]),
        ("/settings/delete", {}, ["password"]),
        ("/settings/profile", {"display_name": "", "locale": "xx"}, ["display_name", "locale-0"]),
        ("/couple/join", {"code": ""}, ["code"]),
    ],
)
def test_every_form_page_has_the_summary(person, path, data, fields):
    anna = person("Anna")
    if path in {"/login", "/forgot-password"}:
        anna.post("/logout")
    response = anna.post(path, data=data)
    assert response.status_code == 400
    assert [target for target, _text in summary(response.text)] == fields


def test_the_start_and_custom_clause_forms_have_the_summary(partners):
    anna, _bram = partners
    response = anna.post("/agreement/start", data={"language": "xx", "starter": "nope"})
    assert response.status_code == 400
    assert [target for target, _text in summary(response.text)] == ["language-0", "starter-0"]
    anna.post("/agreement/start", data={"language": "en", "starter": "basic"})
    response = anna.post("/agreement/clauses/custom", data={"title": "", "body": ""})
    assert response.status_code == 400
    assert summary(response.text) == [
        ("title", "Please give the clause a short title."),
        ("body", "Please write what you agree."),
    ]


def test_a_clause_change_sent_back_has_the_summary(partners):
    anna, _bram = partners
    anna.post("/agreement/start", data={"language": "en", "starter": "basic"})
    page = anna.get("/agreement").text
    # The clause with a number of minutes: its change form posts to .../<id>/params.
    clause = re.search(r'id="c(\d+)-minutes"', page).group(1)
    version = re.search(rf'id="clause-{clause}" data-version="(\d+)"', page).group(1)
    response = anna.post(
        f"/agreement/clauses/{clause}/params", data={"version": version, "param-minutes": "many"}
    )
    assert response.status_code == 400
    assert summary(response.text) == [(f"c{clause}-minutes", "Please enter a whole number.")]
