"""The canonical fingerprint a signature binds (docs/fingerprint.md)."""

import copy
import subprocess
import sys
from datetime import date

import pytest

from app.drafting import canonical


def sample() -> dict:
    return canonical.agreement_data(
        "Our no-ignoring agreement",
        "en",
        1,
        ["Anna", "Bram"],
        [
            canonical.clause_data(
                1,
                "pause-has-a-limit",
                "A pause has an end",
                "A pause lasts at most 60 minutes.",
                {"minutes": 60},
            ),
            canonical.clause_data(2, None, "Tea first", "We make tea before we talk. Café.", {}),
        ],
        date(2026, 12, 29),
    )


def test_the_serialisation_is_exactly_as_documented():
    assert canonical.serialise({"b": 1, "a": ["é", {"d": 2, "c": 3}]}) == (
        '{"a":["é",{"c":3,"d":2}],"b":1}'.encode()
    )


def test_stable_across_runs():
    code = (
        "from tests.unit.test_fingerprint import sample;"
        "from app.drafting import canonical;"
        "print(canonical.fingerprint(sample()))"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    }
    assert runs == {canonical.fingerprint(sample())}
    assert len(runs.pop()) == 64


def test_dictionary_order_does_not_matter():
    data = sample()
    reordered = dict(reversed(list(data.items())))
    reordered["clauses"] = [dict(reversed(list(item.items()))) for item in data["clauses"]]
    assert canonical.fingerprint(reordered) == canonical.fingerprint(data)


def test_unicode_normalisation_does_not_matter():
    composed, decomposed = sample(), sample()
    decomposed["clauses"][1]["text"] = "We make tea before we talk. Cafe\u0301."
    assert composed["clauses"][1]["text"] != decomposed["clauses"][1]["text"]
    assert canonical.fingerprint(composed) == canonical.fingerprint(decomposed)


def _changed(path, value):
    data = copy.deepcopy(sample())
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    "changed",
    [
        _changed(("clauses", 0, "text"), "A pause lasts at most 45 minutes."),
        _changed(("clauses", 0, "params", "minutes"), 45),
        _changed(("clauses", 1, "title"), "Coffee first"),
        _changed(("partners",), ["Anna", "Bram B."]),
        _changed(("language",), "nl"),
        _changed(("version",), 2),
        _changed(("title",), "Another title"),
        _changed(("review_on",), "2026-12-30"),
        _changed(("format",), "duet-agreement/1"),
    ],
)
def test_any_change_changes_the_fingerprint(changed):
    assert canonical.fingerprint(changed) != canonical.fingerprint(sample())


def test_order_of_clauses_matters():
    data = sample()
    data["clauses"].reverse()
    assert canonical.fingerprint(data) != canonical.fingerprint(sample())


def test_the_review_date_is_an_iso_date_in_format_2():
    data = sample()
    assert data["format"] == "duet-agreement/2"
    assert b'"review_on":"2026-12-29"' in canonical.serialise(data)
