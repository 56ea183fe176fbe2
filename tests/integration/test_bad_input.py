"""Every form field, fed hostile values, answers with a 4xx or a redirect, never a 500.

The forms are found by reading the pages a person can reach, so new forms are covered
without editing this file.
"""

import re
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest

ODD_VALUES = {
    "empty": "",
    "only spaces": "   ",
    "null byte": "Anna\x00",
    "control characters": "\x1b[31m\x07",
    "right-to-left override": "\u202eanna@example.com",
    "zero-width and combining": "A\u200bn\u0301na\ufeff",
    "emoji sequence": "👩‍❤️‍👨" * 30,
    "markup": '<script>alert("x")</script>',
    "long": "x" * 5000,
}

# Pages to read forms from: as a person alone, and as a member of a couple.
PAGES_ALONE = [
    "/",
    "/settings",
    "/settings/delete",
    "/couple/join",
    "/reflection/prompts/last-silence",
    "/reflection/pattern-check",
]
PAGES_IN_COUPLE = ["/", "/settings", "/couple/leave", "/couple/invite"]
PAGES_ANONYMOUS = ["/register", "/login", "/forgot-password"]
# Forms whose only effect is to end the session; feeding them values proves nothing.
SKIPPED_ACTIONS = ("/logout", "/sign-out")


class FormFinder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("method", "get").lower() == "post":
            self.forms.append({"action": attrs.get("action"), "fields": []})
        elif tag in ("input", "textarea", "select", "button") and self.forms:
            name = attrs.get("name")
            if name and name != "csrf_token" and name not in self.forms[-1]["fields"]:
                self.forms[-1]["fields"].append(name)


def forms_on(client, path):
    finder = FormFinder()
    finder.feed(client.get(path).text)
    return [
        (form["action"] or path, form["fields"])
        for form in finder.forms
        if not (form["action"] or "").endswith(SKIPPED_ACTIONS)
    ]


def _hammer(client, action, fields):
    for label, value in ODD_VALUES.items():
        for field in fields:
            data = dict.fromkeys(fields, "")
            data[field] = value
            response = client.post(action, data=data)
            assert response.status_code < 500, f"{action} {field} ({label})"
            assert response.status_code in (200,) or 300 <= response.status_code < 500, (
                f"{action} {field} ({label}) answered {response.status_code}"
            )
    oversized = client.post(action, data=dict.fromkeys(fields, "x" * (1024 * 1024)))
    assert 400 <= oversized.status_code < 500, f"{action} accepted 1 MB"
    raw = (
        urlencode(dict.fromkeys(fields, "x")).encode()
        + b"&"
        + fields[0].encode()
        + b"=\xff\xfe\xed\xa0\x80"
    )
    broken = client.post(
        action, data=raw, content_type="application/x-www-form-urlencoded; charset=utf-8"
    )
    assert broken.status_code < 500, f"{action} failed on bytes that are not UTF-8"


def _covered_forms(client, pages):
    """Each kind of form once: forms that differ only in an id in their action are alike."""
    found, kinds = [], set()
    for page in pages:
        for action, fields in forms_on(client, page):
            kind = (re.sub(r"\d+", "N", action.split("#")[0]), tuple(fields))
            if fields and kind not in kinds:
                kinds.add(kind)
                found.append((action, fields))
    return found


def test_anonymous_forms(client):
    forms = _covered_forms(client, PAGES_ANONYMOUS)
    assert len(forms) >= len(PAGES_ANONYMOUS)
    for action, fields in forms:
        _hammer(client, action, fields)


def test_forms_of_a_person_alone(person):
    anna = person("Anna")
    forms = _covered_forms(anna.client, PAGES_ALONE)
    actions = {action for action, _fields in forms}
    assert {"/settings/profile", "/settings/password", "/couple/join"} <= actions
    assert {"/reflection/prompts/last-silence", "/reflection/pattern-check"} <= actions
    for action, fields in forms:
        _hammer(anna.client, action, fields)
        assert anna.get("/settings").status_code == 200, f"{action} ended the session"


def test_forms_of_a_partner(partners):
    anna, _bram = partners
    forms = _covered_forms(anna.client, PAGES_IN_COUPLE)
    assert "/couple/leave" in {action for action, _fields in forms}
    for action, fields in forms:
        _hammer(anna.client, action, fields)


def test_forms_of_the_agreement(partners):
    anna, _bram = partners
    start_forms = _covered_forms(anna.client, ["/agreement"])
    assert "/agreement/start" in {action for action, _fields in start_forms}
    for action, fields in start_forms:
        _hammer(anna.client, action, fields)
    anna.post("/agreement/start", data={"language": "en", "starter": "basic"})
    forms = _covered_forms(anna.client, ["/agreement"])
    kinds = {re.sub(r"\d+", "N", action.split("#")[0]) for action, _fields in forms}
    assert {
        "/agreement/clauses",
        "/agreement/clauses/custom",
        "/agreement/clauses/N/params",
        "/agreement/clauses/N/approve",
        "/agreement/language",
    } <= kinds
    for action, fields in forms:
        _hammer(anna.client, action, fields)


@pytest.mark.parametrize("value", ["Anna\x00", "\x1b[31m"])
def test_control_characters_get_a_message_next_to_the_field(person, value):
    anna = person("Anna")
    response = anna.post("/settings/profile", data={"display_name": value, "locale": "en"})
    assert response.status_code == 400
    assert 'id="display_name-error"' in response.text
    assert "invisible control characters" in response.text


def test_markup_in_a_name_is_shown_as_text(partners):
    anna, bram = partners
    anna.post("/settings/profile", data={"display_name": "<b>Anna</b>", "locale": "en"})
    page = bram.get("/").text
    assert "&lt;b&gt;Anna&lt;/b&gt;" in page
    assert "<b>Anna</b>" not in page


# Names that show nothing: zero-width characters, a soft hyphen, bidi controls, a BOM.
INVISIBLE_NAMES = ["\u200b\u200d", "\u00ad", "\u202e\u202c", "\ufeff \u2060", "\u3164"]


@pytest.mark.parametrize("name", INVISIBLE_NAMES)
def test_a_name_of_invisible_characters_is_empty(person, client, name):
    anna = person("Anna")
    profile = anna.post("/settings/profile", data={"display_name": name, "locale": "en"})
    assert profile.status_code == 400
    assert 'id="display_name-error"' in profile.text
    assert "Please enter a name." in profile.text
    register = client.post(
        "/register",
        data={"email": "ghost@example.com", "display_name": name, "password": "x" * 12},
    )
    assert register.status_code == 400
    assert 'id="display_name-error"' in register.text


def test_a_name_that_turns_itself_around_is_refused(person):
    anna = person("Anna")
    profile = anna.post(
        "/settings/profile", data={"display_name": "Anna\u202eknarF", "locale": "en"}
    )
    assert profile.status_code == 400
    assert 'id="display_name-error"' in profile.text
    assert "Please remove the invisible control characters." in profile.text
