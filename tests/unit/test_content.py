"""The content loader: the real library loads, and every kind of mistake is named."""

import hashlib
import re
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from app.content import ContentError, load_library
from app.content.schema import PATTERN_IDS, placeholders

ROOT = Path(__file__).resolve().parents[2]
AGREEMENTS = ROOT / "agreements"


def test_the_real_library_is_complete():
    library = load_library(AGREEMENTS)
    assert len(library.prompts) >= 24
    assert len(library.themes) >= 6
    assert len(library.clauses) >= 12
    assert len(library.starters) >= 2
    assert all(library.prompts_of(theme.id) for theme in library.themes)


def test_every_placeholder_has_a_param_and_every_param_a_placeholder():
    for clause in load_library(AGREEMENTS).clauses:
        names = {param.name for param in clause.params}
        assert placeholders(clause.body.en) == names, clause.id
        assert placeholders(clause.body.nl) == names, clause.id


def test_the_library_is_immutable():
    library = load_library(AGREEMENTS)
    assert isinstance(library.clauses, tuple) and isinstance(library.prompts, tuple)
    with pytest.raises(ValidationError, match="frozen"):
        library.clauses[0].title = "changed"
    with pytest.raises(ValidationError, match="frozen"):
        library.clauses = ()
    with pytest.raises(TypeError):
        library._clauses["new"] = None


def test_the_library_is_loaded_once():
    assert load_library(AGREEMENTS) is load_library(AGREEMENTS)


# A tiny library that loads; each test below breaks one thing in it.
def _valid() -> dict:
    return {
        "groups.yaml": [{"id": "pausing", "en": "Pausing", "nl": "Pauzeren"}],
        "prompts.yaml": {
            "themes": [{"id": "flooded", "en": "Flooded", "nl": "Overspoeld"}],
            "prompts": [
                {
                    "id": "how-long",
                    "theme": "flooded",
                    "en": "How long do you need?",
                    "nl": "Hoe lang heb je nodig?",
                    "suggests": ["pause-limit"],
                }
            ],
        },
        "pattern_check.yaml": {
            "sections": [
                {
                    "id": "theirs",
                    "title": {"en": "Their silence", "nl": "Hun stilte"},
                    "statements": [
                        {"id": f"s{i}", "pattern": p, "en": "A statement.", "nl": "Een stelling."}
                        for i, p in enumerate(["one-off", "recurring", "control"])
                    ]
                    + [
                        {
                            "id": "afraid",
                            "pattern": "control",
                            "safety": True,
                            "en": "Afraid.",
                            "nl": "Bang.",
                        }
                    ],
                },
                {
                    "id": "mine",
                    "title": {"en": "My silence", "nl": "Mijn stilte"},
                    "intro": {"en": "About me.", "nl": "Over mij."},
                    "statements": [
                        {"id": "s3", "pattern": "using", "en": "I go quiet.", "nl": "Ik zwijg."}
                    ],
                },
            ],
            "patterns": [
                {
                    "id": p,
                    "title": {"en": "T", "nl": "T"},
                    "explanation": {"en": "E", "nl": "E"},
                    "helps": {"en": ["H"], "nl": ["H"]},
                }
                for p in ["one-off", "recurring", "control", "using"]
            ],
        },
        "clauses/pause-limit.yaml": {
            "id": "pause-limit",
            "group": "pausing",
            "title": {"en": "A pause has an end", "nl": "Een pauze heeft een einde"},
            "body": {"en": "At most {minutes} minutes.", "nl": "Hooguit {minutes} minuten."},
            "why": {"en": "Because.", "nl": "Omdat."},
            "params": [
                {
                    "name": "minutes",
                    "type": "int",
                    "min": 10,
                    "max": 240,
                    "default": 60,
                    "unit": {"en": "minutes", "nl": "minuten"},
                    "label": {"en": "Longest pause", "nl": "Langste pauze"},
                }
            ],
        },
        "starters/basic.yaml": {
            "id": "basic",
            "title": {"en": "Basic", "nl": "Basis"},
            "description": {"en": "For most.", "nl": "Voor de meesten."},
            "clauses": [{"clause": "pause-limit", "params": {"minutes": 30}}],
        },
    }


def _write(tmp_path, files: dict) -> Path:
    root = tmp_path / "agreements"
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True))
    return root


def _load(tmp_path, files):
    return load_library(_write(tmp_path, files))


def test_the_small_fixture_loads(tmp_path):
    assert _load(tmp_path, _valid()).clause("pause-limit").defaults("nl") == {"minutes": 60}


def test_the_check_keeps_its_sections_and_the_order_of_statements(tmp_path):
    check = _load(tmp_path, _valid()).pattern_check
    assert [section.id for section in check.sections] == ["theirs", "mine"]
    assert [statement.id for statement in check.statements] == ["s0", "s1", "s2", "afraid", "s3"]
    assert [statement.id for statement in check.statements if statement.safety] == ["afraid"]
    assert check.sections[0].intro is None and check.sections[1].intro("nl") == "Over mij."


def test_the_real_check_has_both_sections_and_a_fear_statement():
    check = load_library(AGREEMENTS).pattern_check
    assert len(check.sections) == 2
    assert {statement.pattern for statement in check.sections[1].statements} == {"using"}
    assert [statement.id for statement in check.statements if statement.safety] == ["afraid"]
    assert sorted(pattern.id for pattern in check.patterns) == sorted(PATTERN_IDS)


def _clause(files):
    return files["clauses/pause-limit.yaml"]


def _check(files):
    return files["pattern_check.yaml"]


def _statement(files, section: int, index: int):
    return _check(files)["sections"][section]["statements"][index]


BROKEN = {
    "missing Dutch text": (
        lambda f: _clause(f)["body"].pop("nl"),
        "clauses/pause-limit.yaml: body.nl: Field required",
    ),
    "unknown param type": (
        lambda f: _clause(f)["params"][0].update(type="float"),
        "clauses/pause-limit.yaml: params.0: Input tag 'float'",
    ),
    "placeholder with no param": (
        lambda f: _clause(f)["body"].update(en="At most {minutes} minutes, {often}."),
        "clauses/pause-limit.yaml: (top level): Value error, body.en uses ['often'] with no param",
    ),
    "param with no placeholder": (
        lambda f: _clause(f)["body"].update(nl="Een korte pauze."),
        "body.nl has no placeholder for ['minutes']",
    ),
    "positional placeholder": (
        lambda f: _clause(f)["body"].update(en="At most {} {minutes} minutes."),
        "must be a plain name",
    ),
    "default above max": (
        lambda f: _clause(f)["params"][0].update(default=500),
        "clauses/pause-limit.yaml: params.0.int: Value error, default 500 is outside 10..240",
    ),
    "choice default not a choice": (
        lambda f: _clause(f)["params"].__setitem__(
            0,
            {
                "name": "minutes",
                "type": "choice",
                "label": {"en": "L", "nl": "L"},
                "choices": [{"id": "a", "en": "A", "nl": "A"}, {"id": "b", "en": "B", "nl": "B"}],
                "default": "c",
            },
        ),
        "default 'c' is not one of the choices",
    ),
    "text default too long": (
        lambda f: _clause(f)["params"].__setitem__(
            0,
            {
                "name": "minutes",
                "type": "text",
                "label": {"en": "L", "nl": "L"},
                "max_length": 3,
                "default": {"en": "far too long", "nl": "ok"},
            },
        ),
        "default.en is longer than max_length",
    ),
    "suggests an unknown clause": (
        lambda f: f["prompts.yaml"]["prompts"][0].update(suggests=["no-such-clause"]),
        "prompts.yaml: prompts.0.suggests: unknown clause 'no-such-clause'",
    ),
    "prompt with an unknown theme": (
        lambda f: f["prompts.yaml"]["prompts"][0].update(theme="elsewhere"),
        "prompts.yaml: prompts.0.theme: unknown theme 'elsewhere'",
    ),
    "starter names an unknown clause": (
        lambda f: f["starters/basic.yaml"]["clauses"].append({"clause": "ghost"}),
        "starters/basic.yaml: clauses.1.clause: unknown clause 'ghost'",
    ),
    "starter value out of range": (
        lambda f: f["starters/basic.yaml"]["clauses"][0]["params"].update(minutes=5),
        "starters/basic.yaml: clauses.0.params.minutes: 5 is not allowed here",
    ),
    "duplicate prompt id": (
        lambda f: f["prompts.yaml"]["prompts"].append(dict(f["prompts.yaml"]["prompts"][0])),
        "prompts.yaml: duplicate prompt id 'how-long'",
    ),
    "clause id unlike its file name (so no two files share an id)": (
        lambda f: f.__setitem__("clauses/copy.yaml", dict(_clause(f))),
        "clauses/copy.yaml: id: 'pause-limit' must match the file name",
    ),
    "duplicate theme id": (
        lambda f: f["prompts.yaml"]["themes"].append(dict(f["prompts.yaml"]["themes"][0])),
        "prompts.yaml: duplicate theme id 'flooded'",
    ),
    "unknown field": (
        lambda f: _clause(f).update(colour="blue"),
        "clauses/pause-limit.yaml: colour: Extra inputs are not permitted",
    ),
    "not YAML": (
        lambda f: f.__setitem__("groups.yaml", "- id: [unclosed"),
        "groups.yaml: not valid YAML",
    ),
    "safety that is not yes or no": (
        lambda f: _statement(f, 0, 3).update(safety="maybe"),
        "pattern_check.yaml: sections.0.statements.3.safety: Input should be a valid boolean",
    ),
    "no statement marked safety (the help for the afraid would vanish)": (
        lambda f: _statement(f, 0, 3).pop("safety"),
        "pattern_check.yaml: (top level): Value error, at least one statement needs safety",
    ),
    "statement with an unknown pattern": (
        lambda f: _statement(f, 1, 0).update(pattern="sulking"),
        "pattern_check.yaml: sections.1.statements.0.pattern: Input should be 'one-off'",
    ),
    "section without a heading": (
        lambda f: _check(f)["sections"][1].pop("title"),
        "pattern_check.yaml: sections.1.title: Field required",
    ),
    "section without statements": (
        lambda f: _check(f)["sections"][1].update(statements=[]),
        "pattern_check.yaml: sections.1.statements: Tuple should have at least 1 item",
    ),
    "statement outside a section": (
        lambda f: _check(f).update(statements=[_statement(f, 1, 0)]),
        "pattern_check.yaml: statements: Extra inputs are not permitted",
    ),
    "duplicate section id": (
        lambda f: _check(f)["sections"][1].update(id="theirs"),
        "pattern_check.yaml: (top level): Value error, section ids must be unique",
    ),
    "a pattern missing": (
        lambda f: _check(f)["patterns"].pop(),
        "Value error, patterns must be exactly one each of ['one-off', 'recurring', 'control', "
        "'using']",
    ),
    "a pattern twice": (
        lambda f: _check(f)["patterns"].append(dict(_check(f)["patterns"][0])),
        "Value error, patterns must be exactly one each of",
    ),
    "duplicate statement id across sections": (
        lambda f: _statement(f, 1, 0).update(id="s0"),
        "pattern_check.yaml: duplicate statement id 's0'",
    ),
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_a_broken_file_is_named_with_its_field(tmp_path, case):
    breaks, expected = BROKEN[case]
    files = _valid()
    breaks(files)
    with pytest.raises(ContentError) as error:
        _load(tmp_path, files)
    message = str(error.value)
    assert message.startswith("agreements/")
    assert expected in message


def test_a_bad_file_stops_start_up_with_one_line(tmp_path, make_app):
    files = _valid()
    _clause(files)["body"].pop("nl")
    root = _write(tmp_path, files)
    with pytest.raises(SystemExit) as stop:
        make_app(CONTENT_PATH=str(root))
    assert re.fullmatch(
        r"Duet cannot start: agreements/clauses/pause-limit\.yaml: body\.nl: .*", str(stop.value)
    )


SEED = ROOT.parent / "shared" / "seed"
# Hashes of every eight-word run of the seed article, so the check runs without the article.
SEED_FINGERPRINTS = Path(__file__).with_name("seed_fingerprints.txt")


def _runs(text: str) -> set[str]:
    words = re.findall(r"\w+", text.lower())
    return {" ".join(words[start : start + 8]) for start in range(len(words) - 7)}


def _fingerprint(run: str) -> str:
    return hashlib.sha256(run.encode()).hexdigest()[:20]


def _seed_fingerprints() -> set[str]:
    runs = set()
    for article in sorted(SEED.glob("*.txt")):
        for sentence in re.split(r"(?<=[.!?…])\s+|\n+", article.read_text()):
            runs |= _runs(sentence)
    return {_fingerprint(run) for run in runs}


@pytest.mark.skipif(not SEED.exists(), reason="the seed article lives beside the repository")
def test_seed_fingerprints_are_current():
    assert set(SEED_FINGERPRINTS.read_text().split()) == _seed_fingerprints()


def test_no_sentence_of_the_seed_article_is_copied():
    """Ideas from the seed, sentences of our own: no run of eight words is shared."""
    seed = set(SEED_FINGERPRINTS.read_text().split())
    assert len(seed) > 500
    copied = []
    for path in sorted(AGREEMENTS.rglob("*.yaml")):
        for line in path.read_text().splitlines():
            copied += [run for run in _runs(line) if _fingerprint(run) in seed]
    assert not copied


def test_the_copy_check_would_catch_a_copied_sentence():
    seed = set(SEED_FINGERPRINTS.read_text().split())
    copied = "Het is het beste om de tijd te nemen om rustig te praten over wat er gebeurd is."
    assert any(_fingerprint(run) in seed for run in _runs(copied))
