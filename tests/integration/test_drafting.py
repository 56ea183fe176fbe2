"""The drafting HTTP contract, with two test clients as the two partners."""

import re

import pytest
from sqlalchemy import select, update

from app.drafting.models import Agreement, AgreementClause
from app.extensions import db


@pytest.fixture
def draft(partners):
    anna, bram = partners
    assert (
        anna.post("/agreement/start", data={"language": "en", "starter": "basic"}).status_code
        == 302
    )
    return anna, bram


def clause_versions(person) -> dict[int, int]:
    page = person.get("/agreement/live").text
    return {int(i): int(v) for i, v in re.findall(r'id="clause-(\d+)" data-version="(\d+)"', page)}


def clause_id(app, template_id) -> int:
    with app.app_context():
        return db.session.scalar(
            select(AgreementClause.id).where(AgreementClause.template_id == template_id)
        )


def _text(response) -> str:
    """What a page says, without its markup (a clause's values are set in <strong>)."""
    return re.sub(r"<[^>]+>", "", response.text)


def revision(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Agreement.revision))


def test_drafting_waits_for_the_partner(person):
    anna = person("Anna")
    anna.create_couple()
    page = anna.get("/agreement")
    assert page.status_code == 200
    assert "once your partner has joined" in page.text
    assert anna.post("/agreement/start", data={"language": "en"}).status_code == 404


def test_start_page_offers_starters_and_language(partners):
    anna, _bram = partners
    page = anna.get("/agreement").text
    assert "The basic no-ignoring agreement" in page
    assert "When every argument ends in silence" in page
    assert "An empty agreement" in page


def test_start_from_nothing_in_dutch(partners):
    anna, bram = partners
    assert anna.post("/agreement/start", data={"language": "nl", "starter": ""}).status_code == 302
    page = bram.get("/agreement").text
    assert "No clauses yet" in page
    bram.post("/agreement/clauses", data={"template": "pause-has-a-limit"})
    assert "Een pauze duurt hooguit" in anna.get("/agreement").text


def test_bad_start_input_is_a_400_with_a_message(partners):
    anna, _bram = partners
    response = anna.post("/agreement/start", data={"language": "fr", "starter": "basic"})
    assert response.status_code == 400
    assert 'id="language-error"' in response.text
    response = anna.post("/agreement/start", data={"language": "en", "starter": "made-up"})
    assert response.status_code == 400


def test_both_partners_see_the_same_agreement(draft):
    anna, bram = draft
    assert clause_versions(anna) == clause_versions(bram)
    assert "Tell me you need space" in bram.get("/agreement").text


def test_the_live_poll_answers_304_until_the_agreement_moves(draft, app):
    anna, bram = draft
    first = bram.get("/live")
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert bram.get("/live", headers={"If-None-Match": etag}).status_code == 304
    anna.post("/agreement/clauses", data={"template": "no-blaming"})
    moved = bram.get("/live", headers={"If-None-Match": etag})
    assert moved.status_code == 200
    assert moved.json["parts"]["agreement"] > first.json["parts"]["agreement"]
    assert "No blaming" in bram.get("/agreement/live").text


def test_same_clause_same_version_one_wins_the_other_gets_409_with_their_text(draft, app):
    anna, bram = draft
    target = clause_id(app, "ask-for-space")
    version = clause_versions(anna)[target]
    before = revision(app)
    first = anna.post(
        f"/agreement/clauses/{target}/params",
        data={"version": version, "param-signal": "Time out, love"},
    )
    second = bram.post(
        f"/agreement/clauses/{target}/params",
        data={"version": version, "param-signal": "I need a walk"},
    )
    assert first.status_code == 302
    assert second.status_code == 409
    assert 'value="I need a walk"' in second.text
    assert "Anna changed this clause while you were editing." in second.text
    assert "Time out, love" in second.text  # the current version, beside the typed one
    assert revision(app) == before + 1
    # The typed text can be applied again: the form now carries the current version.
    current = re.search(
        rf'action="/agreement/clauses/{target}/params[^"]*".*?name="version" value="(\d+)"',
        second.text,
        re.S,
    ).group(1)
    again = bram.post(
        f"/agreement/clauses/{target}/params",
        data={"version": current, "param-signal": "I need a walk"},
    )
    assert again.status_code == 302
    assert "I need a walk" in anna.get("/agreement").text


def test_changes_to_different_clauses_both_succeed(draft, app):
    anna, bram = draft
    versions = clause_versions(anna)
    pause, signal = clause_id(app, "pause-has-a-limit"), clause_id(app, "ask-for-space")
    assert (
        anna.post(
            f"/agreement/clauses/{pause}/params",
            data={"version": versions[pause], "param-minutes": "45"},
        ).status_code
        == 302
    )
    assert (
        bram.post(
            f"/agreement/clauses/{signal}/params",
            data={"version": versions[signal], "param-signal": "Pause please"},
        ).status_code
        == 302
    )
    page = anna.get("/agreement").text
    assert "<strong>45</strong>" in page and "Pause please" in page


def test_approval_by_both_and_withdrawal_on_change(draft, app):
    anna, bram = draft
    target = clause_id(app, "pause-has-a-limit")
    version = clause_versions(anna)[target]
    anna.post(f"/agreement/clauses/{target}/approve", data={"version": version})
    bram.post(f"/agreement/clauses/{target}/approve", data={"version": version})
    page = anna.get("/agreement").text
    assert "Anna agrees" in page and "Bram agrees" in page
    assert "1 of 6 clauses agreed by both of you." in page
    bram.post(
        f"/agreement/clauses/{target}/params", data={"version": version, "param-minutes": "90"}
    )
    page = anna.get("/agreement").text
    assert "Anna agrees" not in page and "Bram agrees" not in page
    assert "0 of 6 clauses agreed by both of you." in page
    assert "You: 0 of 6 agreed" in page and "Bram: 0 of 6 agreed" in page
    assert "Agree to the remaining 6 clauses" in page


def test_progress_per_person(draft, app):
    anna, bram = draft
    for clause, version in clause_versions(anna).items():
        anna.post(f"/agreement/clauses/{clause}/approve", data={"version": version})
    page = bram.get("/agreement").text
    # Nobody has agreed "by both" yet, but Anna has said yes to everything: the summary says so.
    assert "0 of 6 clauses agreed by both of you." in page
    assert "You: 0 of 6 agreed" in page and "Anna: 6 of 6 agreed" in page
    assert "Agree to the remaining 6 clauses" in page
    page = anna.get("/agreement").text
    assert "You: 6 of 6 agreed" in page and "Bram: 0 of 6 agreed" in page
    assert "You agree to every clause. Now Bram reads them too:" in page
    assert "Agree to the remaining" not in page


def _listed_versions(page: str) -> dict[str, str]:
    return dict(re.findall(r'name="(clause-\d+)" value="(\d+)"', page))


def test_agree_to_the_rest_lists_them_then_agrees_to_exactly_those(draft, app):
    anna, bram = draft
    first = clause_id(app, "pause-has-a-limit")
    anna.post(f"/agreement/clauses/{first}/approve", data={"version": clause_versions(anna)[first]})
    confirmation = anna.get("/agreement/agree-to-the-rest")
    assert confirmation.status_code == 200
    listed = _listed_versions(confirmation.text)
    # Every clause still waiting for Anna's yes, each with its words, and none she agreed to.
    assert len(listed) == 5 and f"clause-{first}" not in listed
    assert "I agree to these 5 clauses" in confirmation.text
    assert "exactly as written here" in confirmation.text
    response = anna.post("/agreement/agree-to-the-rest", data=listed)
    assert response.status_code == 302 and response.location.endswith("/agreement#summary")
    page = anna.get("/agreement").text
    assert "You: 6 of 6 agreed" in page
    # Nothing left to confirm: the confirmation leads back to the agreement.
    assert anna.get("/agreement/agree-to-the-rest").status_code == 302
    rest = _listed_versions(bram.get("/agreement/agree-to-the-rest").text)
    bram.post("/agreement/agree-to-the-rest", data=rest)
    assert "You both agree to every clause." in bram.get("/agreement").text


def test_agree_to_the_rest_refuses_a_list_that_changed_and_shows_the_new_one(draft, app):
    anna, bram = draft
    listed = _listed_versions(anna.get("/agreement/agree-to-the-rest").text)
    target = clause_id(app, "pause-has-a-limit")
    bram.post(
        f"/agreement/clauses/{target}/params",
        data={"version": clause_versions(bram)[target], "param-minutes": "90"},
    )
    response = anna.post("/agreement/agree-to-the-rest", data=listed)
    assert response.status_code == 409
    assert "Something changed while you were reading" in response.text
    assert "90" in response.text
    # All or none: not one of the clauses was agreed to.
    assert "You: 0 of 6 agreed" in anna.get("/agreement").text
    fresh = _listed_versions(response.text)
    assert fresh[f"clause-{target}"] == str(int(listed[f"clause-{target}"]) + 1)
    assert anna.post("/agreement/agree-to-the-rest", data=fresh).status_code == 302
    assert "You: 6 of 6 agreed" in anna.get("/agreement").text


def test_agree_to_the_rest_refuses_a_removed_clause_and_bad_input(draft, app):
    anna, bram = draft
    listed = _listed_versions(anna.get("/agreement/agree-to-the-rest").text)
    target = clause_id(app, "pause-has-a-limit")
    bram.post(
        f"/agreement/clauses/{target}/remove", data={"version": clause_versions(bram)[target]}
    )
    response = anna.post("/agreement/agree-to-the-rest", data=listed)
    assert response.status_code == 409 and f"clause-{target}" not in _listed_versions(response.text)
    assert anna.post("/agreement/agree-to-the-rest", data={"clause-x": "1"}).status_code == 400
    assert (
        anna.post("/agreement/agree-to-the-rest", data={f"clause-{target}": "v"}).status_code == 400
    )
    # A clause of another couple, or none at all: not found.
    assert anna.post("/agreement/agree-to-the-rest", data={"clause-999999": "1"}).status_code == 404


def test_everything_agreed(draft):
    anna, bram = draft
    for person in (anna, bram):
        for clause, version in clause_versions(person).items():
            person.post(f"/agreement/clauses/{clause}/approve", data={"version": version})
    assert "You both agree to every clause." in anna.get("/agreement").text
    assert "You both agree to every clause." in bram.get("/agreement").text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"param-minutes": "500"}, "from 20 to 240"),
        ({"param-minutes": "ten"}, "whole number"),
        ({"param-minutes": ""}, "whole number"),
    ],
)
def test_bad_parameter_is_a_400_next_to_the_field_and_changes_nothing(draft, app, data, message):
    anna, _bram = draft
    target = clause_id(app, "pause-has-a-limit")
    before = revision(app)
    response = anna.post(
        f"/agreement/clauses/{target}/params",
        data={"version": clause_versions(anna)[target], **data},
    )
    assert response.status_code == 400
    assert f'id="c{target}-minutes-error"' in response.text
    assert message in response.text
    assert f'value="{data["param-minutes"]}"' in response.text
    assert revision(app) == before


@pytest.mark.parametrize("version", [None, "", "abc"])
def test_missing_version_is_a_400(draft, app, version):
    anna, _bram = draft
    target = clause_id(app, "pause-has-a-limit")
    before = revision(app)
    data = {"param-minutes": "30"}
    if version is not None:
        data["version"] = version
    response = anna.post(f"/agreement/clauses/{target}/params", data=data)
    assert response.status_code == 400
    assert "out of date" in response.text
    assert revision(app) == before


def test_unknown_template_is_a_400(draft, app):
    anna, _bram = draft
    before = revision(app)
    response = anna.post("/agreement/clauses", data={"template": "made-up"})
    assert response.status_code == 400
    assert "not in the library" in response.text
    assert revision(app) == before


def test_custom_clause_oversized_is_kept_with_a_message(draft, app):
    anna, _bram = draft
    before = revision(app)
    body = "We talk. " * 300
    response = anna.post("/agreement/clauses/custom", data={"title": "Ours", "body": body})
    assert response.status_code == 400
    assert 'id="body-error"' in response.text
    assert "at most 2000 characters" in response.text
    assert body.strip() in response.text
    assert revision(app) == before


def test_custom_clause_markup_shows_as_text(draft):
    anna, bram = draft
    anna.post(
        "/agreement/clauses/custom",
        data={"title": "<i>Ours</i>", "body": "<script>alert(1)</script>"},
    )
    page = bram.get("/agreement").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    assert "&lt;i&gt;Ours&lt;/i&gt;" in page


def test_custom_clause_text_can_be_changed_and_conflicts_keep_the_text(draft, app):
    anna, bram = draft
    anna.post("/agreement/clauses/custom", data={"title": "Ours", "body": "First words."})
    with app.app_context():
        target = db.session.scalar(
            select(AgreementClause.id).where(AgreementClause.custom_title == "Ours")
        )
    version = clause_versions(anna)[target]
    assert (
        anna.post(
            f"/agreement/clauses/{target}/text",
            data={"version": version, "title": "Ours", "body": "Second words."},
        ).status_code
        == 302
    )
    response = bram.post(
        f"/agreement/clauses/{target}/text",
        data={"version": version, "title": "Ours", "body": "Bram's words."},
    )
    assert response.status_code == 409
    assert "Bram&#39;s words." in response.text and "Second words." in response.text


def test_remove_restore_and_move(draft, app):
    anna, bram = draft
    target = clause_id(app, "no-silence-as-punishment")
    anna.post(
        f"/agreement/clauses/{target}/remove", data={"version": clause_versions(anna)[target]}
    )
    page = bram.get("/agreement").text
    assert "Removed clauses" in page
    assert target not in clause_versions(bram)
    bram.post(f"/agreement/clauses/{target}/restore")
    assert target in clause_versions(anna)
    first = next(iter(clause_versions(anna)))
    anna.post(f"/agreement/clauses/{first}/move", data={"direction": "down"})
    assert list(clause_versions(bram))[1] == first
    assert (
        anna.post(f"/agreement/clauses/{first}/move", data={"direction": "sideways"}).status_code
        == 400
    )


def test_history_is_readable_in_the_readers_language(draft, app):
    anna, bram = draft
    target = clause_id(app, "pause-has-a-limit")
    anna.post(f"/agreement/clauses/{target}/approve", data={"version": 1})
    english = anna.get("/agreement").text
    assert "Anna started the agreement." in english
    assert "Anna agreed to “A pause has an end”." in english
    bram.post("/settings/profile", data={"display_name": "Bram", "locale": "nl"})
    dutch = bram.get("/agreement").text
    # The sentence in the reader's language; the clause's title as the agreement has it.
    assert "Anna ging akkoord met „A pause has an end”." in dutch


def test_language_of_the_agreement_can_change_while_drafting(draft):
    anna, bram = draft
    assert anna.post("/agreement/language", data={"language": "nl"}).status_code == 302
    assert "Een pauze duurt hooguit" in bram.get("/agreement").text
    assert anna.post("/agreement/language", data={"language": "de"}).status_code == 400


def test_the_start_page_is_gone_once_drafting(draft):
    anna, _bram = draft
    again = anna.post("/agreement/start", data={"language": "en", "starter": "basic"})
    assert again.status_code == 302
    assert len(clause_versions(anna)) == 6


@pytest.mark.filterwarnings("ignore::DeprecationWarning:pyhanko.*")
def test_a_value_stored_before_the_limits_changed_still_works(draft, app):
    """A pause of 10 minutes and a talk within 72 hours, drafted before the limits became
    20 minutes and 24 hours: shown, agreed and signed as they are; a change must fit."""
    from tests.integration.test_signing import sign_data

    anna, bram = draft
    pause, talk = clause_id(app, "pause-has-a-limit"), clause_id(app, "talk-once-calm")
    with app.app_context():
        for target, params in ((pause, {"minutes": 10}), (talk, {"hours": 72})):
            db.session.execute(
                update(AgreementClause).where(AgreementClause.id == target).values(params=params)
            )
        db.session.commit()
    page = bram.get("/agreement")
    assert page.status_code == 200
    assert "at most 10 minutes" in _text(page) and "within 72 hours" in _text(page)

    before = revision(app)
    for target, data, message in (
        (pause, {"param-minutes": "10"}, "from 20 to 240"),
        (talk, {"param-hours": "72"}, "from 1 to 24"),
    ):
        response = anna.post(
            f"/agreement/clauses/{target}/params",
            data={"version": clause_versions(anna)[target], **data},
        )
        assert response.status_code == 400
        assert message in response.text
    assert revision(app) == before
    changed = anna.post(
        f"/agreement/clauses/{talk}/params",
        data={"version": clause_versions(anna)[talk], "param-hours": "24"},
    )
    assert changed.status_code == 302

    for person in (anna, bram):
        for clause, version in clause_versions(person).items():
            response = person.post(
                f"/agreement/clauses/{clause}/approve", data={"version": version}
            )
            assert response.status_code == 302
    assert "at most 10 minutes" in _text(anna.get("/agreement/sign"))
    assert anna.post("/agreement/sign", data=sign_data()).status_code == 302
    done = bram.post("/agreement/sign", data=sign_data("Bram Example"))
    assert done.location == "/agreements"
    with app.app_context():
        signed = db.session.scalar(select(Agreement))
        assert not signed.is_draft
        assert {"minutes": 10} in [clause.params for clause in signed.clauses]


def test_agree_to_the_rest_cannot_name_another_couples_clause(draft, person, app):
    anna, bram = draft
    carla, dirk = person("Carla"), person("Dirk")
    dirk.join(carla.create_couple())
    carla.post("/agreement/start", data={"language": "en", "starter": "basic"})
    theirs = _listed_versions(carla.get("/agreement/agree-to-the-rest").text)
    response = anna.post("/agreement/agree-to-the-rest", data=theirs)
    assert response.status_code == 404
    assert "You: 0 of 6 agreed" in carla.get("/agreement").text


def test_home_starts_the_suggested_agreement_in_one_step(partners):
    anna, bram = partners
    home = anna.get("/").text
    form = re.search(r'<form method="post" action="/agreement/start">(.*?)</form>', home, re.S)
    assert form, "the home page has no start button"
    fields = dict(re.findall(r'name="(language|starter)" value="([^"]*)"', form.group(1)))
    assert fields == {"language": "en", "starter": "basic"}
    response = anna.post("/agreement/start", data=fields)
    assert response.status_code == 302 and response.location.endswith("/agreement")
    page = anna.get("/agreement").text
    assert "0 of 6 clauses agreed by both of you." in page
    # Bram's home, seconds later, leads into the agreement, not to a second start.
    assert 'action="/agreement/start"' not in bram.get("/").text
