"""The canonical fingerprint a signature binds (docs/fingerprint.md)."""

import copy
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


# The fingerprint of sample(), pinned: every run is a new interpreter with its own hash seed,
# so a fingerprint that depended on set or dict order, or on anything else that changes
# between runs or releases, would fail here. A deliberate change of the format changes it.
SAMPLE_FINGERPRINT = "965e7b19fd1066b77a4f281b5fdcc0597ecded09c3b20d1b4bcf417daf835dcd"


def test_stable_across_runs():
    assert canonical.fingerprint(sample()) == SAMPLE_FINGERPRINT


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
