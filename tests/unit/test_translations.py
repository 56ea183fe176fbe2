"""Every user-facing string has a Dutch translation, and the catalogs are current."""

import re
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from app.cli import extract

ROOT = Path(__file__).resolve().parents[2]
DUTCH = ROOT / "app" / "translations" / "nl" / "LC_MESSAGES"

# Words a template may show untranslated: the name, a format, and each language's own name.
UNTRANSLATED_WORDS = {
    "Duet",
    "(JSON)",
    "Switch to English",
    "Naar Nederlands",
    "English",
    "Nederlands",
    "Veilig Thuis",
    "findahelpline.com",
}


def _catalog():
    with open(DUTCH / "messages.po", "rb") as handle:
        return read_po(handle)


def test_every_message_is_translated_to_dutch(tmp_path):
    pot = tmp_path / "messages.pot"
    extract(pot)
    with open(pot, "rb") as handle:
        template = read_po(handle)
    catalog = _catalog()

    extracted = {message.id for message in template if message.id}
    assert len(extracted) > 100
    untranslated = [
        message_id
        for message_id in extracted
        if message_id not in catalog
        or catalog[message_id].fuzzy
        or not all(
            catalog[message_id].string
            if isinstance(catalog[message_id].string, tuple)
            else [catalog[message_id].string]
        )
    ]
    assert not untranslated, f"run `flask translate update` and translate: {untranslated}"
    stale = sorted({message.id for message in catalog if message.id} - extracted)
    assert not stale, f"run `flask translate update` to drop stale messages: {stale}"


def _frozen(value):
    """Plural entries come back as lists from one reader and tuples from the other."""
    return tuple(value) if isinstance(value, list | tuple) else value


def test_compiled_catalog_matches_the_source():
    with open(DUTCH / "messages.mo", "rb") as handle:
        compiled = {
            _frozen(message.id): _frozen(message.string)
            for message in read_mo(handle)
            if message.id
        }
    source = {_frozen(message.id): _frozen(message.string) for message in _catalog() if message.id}
    assert compiled == source, "run `flask translate compile`"


def test_placeholders_survive_translation():
    for message in _catalog():
        if not message.id or isinstance(message.id, tuple):
            continue
        wanted = sorted(re.findall(r"%\(\w+\)[sd]", message.id))
        assert sorted(re.findall(r"%\(\w+\)[sd]", message.string)) == wanted, message.id


def test_templates_hold_no_bare_text():
    """Text in a template goes through {{ _() }} or {% trans %}; nothing is typed bare."""
    problems = []
    for template in sorted((ROOT / "templates").rglob("*.html")):
        if "pdf" in template.parts:
            continue
        source = template.read_text()
        source = re.sub(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", " ", source, flags=re.S)
        source = re.sub(r"<(script|style)\b.*?</\1>", " ", source, flags=re.S)
        text = re.sub(r"<[^>]+>", "\n", source)
        for line in text.splitlines():
            rest = line
            for allowed in sorted(UNTRANSLATED_WORDS, key=len, reverse=True):
                rest = rest.replace(allowed, "")
            if re.search(r"[A-Za-z]", rest):
                problems.append(f"{template.relative_to(ROOT)}: {line.strip()!r}")
    assert not problems
