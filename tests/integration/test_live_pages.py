"""The live pages: each says what it follows, and answers one region when live.js asks."""

import json
import re

import pytest

from tests.conftest import PASSWORD
from tests.integration.test_reflection import LIBRARY
from tests.integration.test_signing import sign_data

REGION = "X-Live-Region"


def live_state(page: str) -> dict:
    """What the page tells live.js: the ETag it shows, each part's revision, what it follows."""
    found = re.search(r'<div hidden id="live-state"([^>]*)>', page)
    assert found, "not a live page"
    attributes = dict(re.findall(r'data-([a-z-]+)=(?:"([^"]*)"|\'[^\']*\')', found.group(1)))
    parts = re.search(r"data-parts='([^']*)'", found.group(1)).group(1)
    return {
        "etag": attributes["etag"],
        "follows": attributes["follows"].split(),
        "reload": attributes["reload"].split(),
        "parts": json.loads(parts),
    }


def sign(person):
    response = person.post("/agreement/sign", data=sign_data(f"{person.name} Example"))
    assert response.status_code == 302, response.text


def region(person, url: str, name: str):
    return person.get(url, headers={REGION: name})


@pytest.fixture
def drafting(partners):
    anna, bram = partners
    anna.post("/agreement/start", data={"language": "en", "starter": "basic"})
    return anna, bram


def test_every_live_page_starts_from_the_revision_it_shows(partners):
    anna, _bram = partners
    poll = anna.get("/live")
    for url in ("/", "/agreement", "/reflection", "/agreements"):
        state = live_state(anna.get(url).text)
        assert f'"{state["etag"]}"' == poll.headers["ETag"], url
        assert state["parts"] == poll.json["parts"], url


def test_what_each_page_follows(partners, person):
    anna, _bram = partners
    assert live_state(anna.get("/").text)["follows"] == [
        "partner",
        "reflection",
        "agreement",
        "signing",
        "pause",  # the pause card, once the couple has signed
    ]
    start = live_state(anna.get("/agreement").text)
    assert start["reload"] == ["agreement"]  # the partner starts: the page becomes the draft
    anna.post("/agreement/start", data={"language": "en", "starter": "basic"})
    assert live_state(anna.get("/agreement").text)["reload"] == []  # merged in place
    assert live_state(anna.get("/reflection").text)["follows"] == ["partner", "reflection"]
    waiting = person("Carl")
    waiting.create_couple()
    assert live_state(waiting.get("/couple/invite").text)["reload"] == ["partner"]
    assert live_state(waiting.get("/").text)["reload"] == ["partner"]


def test_pages_that_are_not_live_carry_no_live_state(partners):
    anna, _bram = partners
    for url in ("/settings", "/help", "/verify"):
        assert 'id="live-state"' not in anna.get(url).text, url


def test_home_shows_where_the_couple_stands(drafting):
    anna, bram = drafting
    together = region(bram, "/", "together")
    assert together.status_code == 200
    assert 'id="home-together"' in together.text
    assert "<html" not in together.text  # the region only
    assert "<strong>You</strong>: 0 of 6 agreed" in together.text
    assert "<strong>Anna</strong>: 0 of 6 agreed" in together.text
    assert "Agree to the 6 open clauses" in together.text  # the one next step


def test_home_says_when_the_partner_has_signed(agreed):
    anna, bram = agreed
    before = region(bram, "/", "together").text
    assert "You both agree to every clause. You can sign now." in before
    assert 'href="/agreement/sign"' in before
    sign(anna)
    together = region(bram, "/", "together").text
    assert "Anna has signed. Yours is the last signature." in together
    assert "<strong>Anna</strong>: 6 of 6 agreed, signed" in together
    assert "You have signed." in region(anna, "/", "together").text
    steps = region(bram, "/", "steps").text
    assert 'class="done"' in steps  # drafting is done
    assert 'href="/agreement/sign"' in steps  # "Sign" leads to the form, not the list


def test_home_after_both_signed_offers_the_download(agreed):
    anna, bram = agreed
    sign(anna)
    sign(bram)
    together = region(bram, "/", "together").text
    assert "Version 1 is signed by both of you." in together
    assert "/pdf" in together
    assert "Check that a PDF is a genuine Duet agreement" in bram.get("/").text


def test_home_suggests_reflecting_first_only_before_any_answer(partners):
    anna, _bram = partners
    assert "Reflect on your own" in region(anna, "/", "together").text
    anna.post(f"/reflection/prompts/{LIBRARY.prompts[0].id}", data={"text": "Mine."})
    together = region(anna, "/", "together").text
    assert 'href="/reflection"' not in together
    assert "Start the agreement" in together


def test_home_counts_shared_answers_and_never_private_ones(partners):
    anna, bram = partners
    first, second = LIBRARY.prompts[0].id, LIBRARY.prompts[1].id
    anna.post(f"/reflection/prompts/{first}", data={"text": "Kept to myself."})
    anna.post(f"/reflection/prompts/{second}", data={"text": "I go quiet when I feel blamed."})
    anna.post(f"/reflection/prompts/{second}/share")
    together = region(bram, "/", "together").text
    assert "Anna shared 1 answer with you." in together
    assert "Kept to myself" not in together and "I go quiet" not in together
    shared = region(bram, "/reflection", "shared").text
    assert "I go quiet when I feel blamed." in shared
    assert "Kept to myself" not in shared


def test_the_signing_page_region_shows_the_partners_signature(agreed):
    anna, bram = agreed
    sign(anna)
    status = region(bram, "/agreement/sign", "status")
    assert status.status_code == 200
    assert "<form" not in status.text  # what Bram is filling in is never sent again
    assert "Anna has signed. Yours is the last signature." in status.text
    assert "Anna chose" in status.text  # her review date: another one voids hers
    assert "Anna signed on" in region(anna, "/agreement/sign", "status").text


def test_the_versions_region_lists_the_final_version(agreed):
    anna, bram = agreed
    sign(anna)
    sign(bram)
    versions = region(anna, "/agreements", "versions")
    assert versions.status_code == 200
    assert "Version 1" in versions.text and "Download the PDF" in versions.text


def test_an_unknown_region_is_404(agreed):
    anna, _bram = agreed
    for url in ("/", "/agreements", "/reflection", "/agreement/sign"):
        assert region(anna, url, "nothing-here").status_code == 404, url


def test_the_signing_region_of_a_final_agreement_leads_away(agreed):
    anna, bram = agreed
    sign(anna)
    sign(bram)
    response = region(anna, "/agreement/sign", "status")
    assert response.status_code == 302  # live.js sees the redirect and reloads the page


def test_the_signing_page_after_the_couple_ended_leads_to_the_kept_versions(agreed):
    anna, bram = agreed
    assert bram.post("/couple/leave", data={"password": PASSWORD}).status_code == 302
    response = anna.get("/agreement/sign")  # her page reloading itself just then
    assert response.status_code == 302
    assert response.location == "/agreements"
    assert anna.post("/agreement/sign", data=sign_data()).status_code == 404
