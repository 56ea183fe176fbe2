"""Text that shows nothing on screen counts as empty, wherever a name or a title is read."""

import pytest

from app.forms import has_control_characters, shows_nothing, strip

INVISIBLE = {
    "zero-width space": "\u200b",
    "zero-width joiner and non-joiner": "\u200d\u200c",
    "word joiner": "\u2060",
    "soft hyphen": "\u00ad",
    "byte order mark": "\ufeff",
    "bidi override and pop": "\u202e\u202c",
    "bidi isolates": "\u2066\u2069",
    "left-to-right mark": "\u200e",
    "no-break and ideographic spaces": "\u00a0\u3000",
    "hangul filler": "\u3164",
    "braille blank": "\u2800",
    "variation selector": "\ufe0f",
    "a mix with spaces": " \u200b \u00ad\u2060 ",
}


@pytest.mark.parametrize("text", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_text_of_invisible_characters_is_empty(text):
    assert shows_nothing(text)
    assert strip(text) == ""


@pytest.mark.parametrize(
    "text", ["Anna", "\u200bAnna", "👩\u200d💻", "❤\ufe0f", "محمد\u200f", "-", "\u0301a"]
)
def test_text_with_something_to_see_is_kept(text):
    assert not shows_nothing(text)
    assert strip(f"  {text} ") == text


@pytest.mark.parametrize("control", ["\u202e", "\u202a", "\u202d", "\u2066", "\u2067", "\u2069"])
def test_a_bidi_override_inside_a_visible_name_is_refused(control):
    assert has_control_characters(f"Anna{control}lraK")


@pytest.mark.parametrize("name", ["Anna", "Zoë Ægir", "\u200fנועה\u200f", "سارة", "Ann\tA"])
def test_names_people_write_are_not_refused(name):
    assert not has_control_characters(name)
