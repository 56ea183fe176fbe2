"""A change that arrives just after the partner's finalising signature: 409, nothing lost."""

import pytest

from tests.integration.test_signing import sign_data, versions

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pyhanko.*")


@pytest.fixture
def just_signed(agreed):
    """Anna's page still shows the draft (its clause versions) when Bram's signature ends it."""
    anna, bram = agreed
    open_clauses = versions(anna)
    assert anna.post("/agreement/sign", data=sign_data()).status_code == 302
    assert bram.post("/agreement/sign", data=sign_data("Bram Example")).status_code == 302
    return anna, open_clauses


def test_a_new_clause_typed_just_after_signing_is_shown_back(just_signed):
    anna, _clauses = just_signed
    response = anna.post(
        "/agreement/clauses/custom",
        data={"title": "Sunday walks", "body": "We walk together on Sundays & talk."},
    )
    assert response.status_code == 409
    assert "just signed" in response.text
    assert "Sunday walks" in response.text
    assert "We walk together on Sundays &amp; talk." in response.text


def test_a_change_to_a_clause_just_after_signing_is_a_409(just_signed):
    anna, clauses = just_signed
    clause, version = next(iter(clauses.items()))
    for action, data in (
        ("params", {"version": version, "minutes": "45"}),
        ("approve", {"version": version}),
        ("remove", {"version": version}),
        ("move", {"direction": "up"}),
    ):
        response = anna.post(f"/agreement/clauses/{clause}/{action}", data=data)
        assert response.status_code == 409, action
    assert (
        "45"
        in anna.post(
            f"/agreement/clauses/{clause}/params", data={"version": version, "minutes": "45"}
        ).text
    )


def test_without_any_agreement_a_change_is_still_a_404(partners):
    anna, _bram = partners
    response = anna.post("/agreement/clauses/custom", data={"title": "A", "body": "B"})
    assert response.status_code == 404
