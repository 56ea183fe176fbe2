"""What was signed is what both saw: a rename, a template's new wording or another review
date between the two signatures voids the first one, with a message to both, and the
agreement can never be stuck with two signatures that disagree (issue 11, part 2)."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.accounts.models import User
from app.content import Library
from app.content.schema import Localized
from app.db import utcnow
from app.drafting import services as drafting
from app.drafting.models import Agreement, AgreementClause
from app.extensions import db
from app.filters import date as long_date
from app.signing import services as signing
from app.signing.models import FinalDocument, Signature
from tests.concurrency import rendezvous, simultaneously
from tests.integration.test_signing import sign_data, versions
from tests.unit.test_pdf import pdf_text

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pyhanko.*")

TODAY = utcnow().date()
IN_FOUR_WEEKS = TODAY + timedelta(days=28)
IN_FIVE_WEEKS = TODAY + timedelta(days=35)


def sign(person, full_name: str, review_on=IN_FOUR_WEEKS):
    return person.post(
        "/agreement/sign", data=sign_data(full_name, review_on=review_on.isoformat())
    )


def rename(person, name: str) -> None:
    response = person.post("/settings/profile", data={"display_name": name, "locale": "en"})
    assert response.status_code == 302


def counts(app) -> tuple[int, int, int]:
    """(active signatures, voided signatures, final agreements)."""
    with app.app_context():
        active = db.session.scalar(
            select(func.count(Signature.id)).where(Signature.voided_at.is_(None))
        )
        voided = db.session.scalar(
            select(func.count(Signature.id)).where(Signature.voided_at.is_not(None))
        )
        final = db.session.scalar(select(func.count()).select_from(FinalDocument))
        return active, voided, final


def final_text(person) -> str:
    """The text of the couple's newest signed PDF."""
    link = re.search(r'href="(/agreements/\d+/pdf)"', person.get("/agreements").text).group(1)
    return pdf_text(person.get(link).data)


def day(app, value) -> str:
    with app.test_request_context():
        return long_date(value)


def reworded(content: Library, clause_id: str = "pause-has-a-limit") -> Library:
    """The library as a deploy might change it: one clause says a little more."""
    clauses = tuple(
        clause.model_copy(
            update={
                "body": Localized(
                    en=clause.body.en + " We keep to it.",
                    nl=clause.body.nl + " Daar houden we ons aan.",
                )
            }
        )
        if clause.id == clause_id
        else clause
        for clause in content.clauses
    )
    return Library.model_validate({**dict(content), "clauses": clauses})


def not_stuck(page: str) -> None:
    """Nobody is told to wait for a signature that can no longer finalise."""
    assert "signs too" not in page


def test_the_first_signer_renames_before_the_second_signs(agreed, app):
    anna, bram = agreed
    assert sign(anna, "Anna Lou Example").status_code == 302
    rename(anna, "Annie")
    mine = anna.get("/agreement/sign").text
    assert "Your signature no longer counts." in mine
    assert "You changed your name after you signed." in mine
    assert 'class="sign-form"' in mine
    not_stuck(mine)
    theirs = bram.get("/agreement/sign").text
    assert "Annie changed their name after signing, so Annie needs to sign again." in theirs
    assert "signed on" not in theirs
    assert "Annie changed their name, so Annie needs to sign again." in bram.get("/agreement").text
    assert sign(bram, "Bram Example").status_code == 302
    assert counts(app) == (1, 1, 0)
    assert sign(anna, "Annie Lou Example").location == "/agreements"
    text = final_text(bram)
    assert "Annie" in text and "Anna" not in text


def test_the_second_signer_renames_before_signing(agreed, app):
    anna, bram = agreed
    assert sign(anna, "Anna Lou Example").status_code == 302
    rename(bram, "Bram B")
    mine = anna.get("/agreement/sign").text
    assert "Your signature no longer counts." in mine
    assert "Bram B changed their name after you signed." in mine
    assert "A signature holds for the exact words signed." in mine
    theirs = bram.get("/agreement/sign").text
    assert "You changed your name after Anna signed, so Anna needs to sign again." in theirs
    assert counts(app) == (0, 1, 0)
    assert sign(anna, "Anna Lou Example").status_code == 302
    assert sign(bram, "Bram Example").location == "/agreements"
    assert "Bram B" in final_text(anna)


def test_a_rename_before_anyone_signs_voids_nothing(agreed, app):
    anna, bram = agreed
    rename(bram, "Bram B")
    assert "needs to sign again" not in anna.get("/agreement/sign").text
    assert "needs to sign again" not in anna.get("/agreement").text
    assert sign(anna, "Anna Lou Example").status_code == 302
    rename(bram, "Bram B")  # the same name again: nothing changes
    assert counts(app) == (1, 0, 0)
    assert sign(bram, "Bram Example").location == "/agreements"


def test_a_rename_after_both_signed_keeps_the_final_agreement(agreed, app):
    anna, bram = agreed
    assert sign(anna, "Anna Lou Example").status_code == 302
    assert sign(bram, "Bram Example").location == "/agreements"
    before = final_text(anna)
    rename(anna, "Annie")
    assert counts(app) == (2, 0, 1)
    assert final_text(bram) == before and "Anna" in before


def test_new_template_wording_voids_the_first_signature_when_a_page_is_shown(
    agreed, app, monkeypatch
):
    anna, bram = agreed
    assert sign(anna, "Anna Lou Example").status_code == 302
    monkeypatch.setitem(app.extensions, "duet.content", reworded(app.extensions["duet.content"]))
    theirs = bram.get("/agreement/sign").text
    assert (
        "Duet updated the wording of “A pause has an end” after Anna signed, "
        "so Anna needs to sign again." in theirs
    )
    assert "We keep to it." in theirs
    mine = anna.get("/agreement/sign").text
    assert "Your signature no longer counts." in mine
    assert "Duet updated the wording of “A pause has an end” after you signed." in mine
    not_stuck(mine)
    assert "Duet updated the wording of “A pause has an end”, so Anna needs to sign again." in (
        anna.get("/agreement").text
    )
    assert counts(app) == (0, 1, 0)
    assert sign(anna, "Anna Lou Example").status_code == 302
    assert sign(bram, "Bram Example").location == "/agreements"
    assert "We keep to it." in final_text(anna)


def test_new_template_wording_is_found_at_the_second_signature(agreed, app, monkeypatch):
    anna, bram = agreed
    assert sign(anna, "Anna Lou Example").status_code == 302
    monkeypatch.setitem(app.extensions, "duet.content", reworded(app.extensions["duet.content"]))
    assert sign(bram, "Bram Example").location == "/agreement/sign"
    assert counts(app) == (1, 1, 0)
    mine = anna.get("/agreement/sign").text
    assert "Duet updated the wording of “A pause has an end” after you signed." in mine
    not_stuck(mine)
    assert sign(anna, "Anna Lou Example").location == "/agreements"
    assert counts(app) == (2, 1, 1)


def test_the_reworded_clause_is_named_even_after_a_move(agreed, app, monkeypatch):
    anna, bram = agreed
    with app.app_context():
        first = db.session.scalar(
            select(AgreementClause.id).where(AgreementClause.template_id == "ask-for-space")
        )
    # A move keeps both yeses (and voids no signature, as none is there yet).
    assert (
        anna.post(f"/agreement/clauses/{first}/move", data={"direction": "down"}).status_code == 302
    )
    assert sign(anna, "Anna Lou Example").status_code == 302
    monkeypatch.setitem(
        app.extensions,
        "duet.content",
        reworded(app.extensions["duet.content"], "no-silence-as-punishment"),
    )
    with app.app_context():
        moved = app.extensions["duet.content"].clause("ask-for-space").title.en
        changed = app.extensions["duet.content"].clause("no-silence-as-punishment").title.en
    page = bram.get("/agreement/sign").text
    assert f"Duet updated the wording of “{changed}” after Anna signed" in page
    assert f"wording of “{moved}”" not in page


def test_an_outdated_signature_of_an_older_format_is_voided_not_waited_for(agreed, app):
    """Two signatures that disagree (signed before this fix, or in format 1) unstick."""
    anna, bram = agreed
    assert sign(anna, "Anna Lou Example").status_code == 302
    with app.app_context():
        db.session.execute(update(Signature).values(fingerprint="0" * 64))
        db.session.commit()
    theirs = bram.get("/agreement/sign").text
    assert (
        "The agreement was updated in Duet after Anna signed, so Anna needs to sign again."
        in theirs
    )
    assert "The agreement was updated in Duet after you signed." in anna.get("/agreement/sign").text
    assert sign(anna, "Anna Lou Example").status_code == 302
    assert sign(bram, "Bram Example").location == "/agreements"


def test_both_sign_the_same_review_date(agreed, app):
    anna, bram = agreed
    assert sign(anna, "Anna Lou Example", IN_FOUR_WEEKS).status_code == 302
    theirs = bram.get("/agreement/sign").text
    assert f'value="{IN_FOUR_WEEKS.isoformat()}"' in theirs
    assert (
        f"Anna chose {day(app, IN_FOUR_WEEKS)}. If you choose another date, Anna signs again "
        "with yours." in theirs
    )
    assert sign(bram, "Bram Example", IN_FIVE_WEEKS).location == "/agreement/sign"
    assert counts(app) == (1, 1, 0)
    theirs = bram.get("/agreement/sign").text
    assert (
        "You chose another date to talk than Anna did, so Anna needs to sign again, "
        "with your date." in theirs
    )
    mine = anna.get("/agreement/sign").text
    assert "Your signature no longer counts." in mine
    assert (
        f"Bram chose another date to talk about how it is going: {day(app, IN_FIVE_WEEKS)}." in mine
    )
    assert "You both sign the same date" in mine
    assert f'value="{IN_FIVE_WEEKS.isoformat()}"' in mine
    not_stuck(mine)
    assert "Bram chose another date to talk, so Anna needs to sign again." in (
        anna.get("/agreement").text
    )
    assert sign(anna, "Anna Lou Example", IN_FIVE_WEEKS).location == "/agreements"
    with app.app_context():
        document = db.session.scalar(select(FinalDocument))
        assert document.review_on == IN_FIVE_WEEKS
        signed = db.session.scalars(select(Signature).where(Signature.voided_at.is_(None))).all()
        assert {item.review_on for item in signed} == {IN_FIVE_WEEKS}
        assert {item.fingerprint for item in signed} == {document.fingerprint}
        agreement_id = document.agreement_id
    calendar = anna.get(f"/agreements/{agreement_id}/review.ics").text
    assert f"DTSTART;VALUE=DATE:{IN_FIVE_WEEKS:%Y%m%d}" in calendar


def test_the_fingerprint_binds_the_review_date(agreed, app):
    anna, _bram = agreed
    with app.test_request_context():
        agreement = db.session.scalar(select(Agreement))
        partners = list(db.session.scalars(select(User).order_by(User.id)))
        content = app.extensions["duet.content"]
        one = drafting.agreement_fingerprint(agreement, partners, content, IN_FOUR_WEEKS)
        other = drafting.agreement_fingerprint(agreement, partners, content, IN_FIVE_WEEKS)
        assert one != other
        data = drafting.agreement_content(agreement, partners, content, IN_FOUR_WEEKS)
        assert data["review_on"] == IN_FOUR_WEEKS.isoformat()
        assert data["format"] == "duet-agreement/2"
    page = anna.get("/agreement/sign").text
    grouped = " ".join(one[index : index + 4] for index in range(0, 64, 4))
    assert grouped in page  # the page shows the fingerprint for the date it offers


def test_a_clause_change_is_explained_to_the_partner_too(agreed, app):
    anna, bram = agreed
    assert sign(anna, "Anna Lou Example").status_code == 302
    with app.app_context():
        pause = db.session.scalar(
            select(AgreementClause.id).where(AgreementClause.template_id == "pause-has-a-limit")
        )
    bram.post(
        f"/agreement/clauses/{pause}/params",
        data={"version": versions(bram)[pause], "param-minutes": "45"},
    )
    assert "Bram changed “A pause has an end” after you signed." in anna.get("/agreement/sign").text
    assert (
        "“A pause has an end” changed after Anna signed, so Anna needs to sign again."
        in bram.get("/agreement/sign").text
    )


def test_why_voided_reads_for_either_partner(agreed, app):
    """Every reason, told to the signer and to the partner, is one whole sentence."""
    with app.test_request_context():
        anna, bram = db.session.scalars(select(User).order_by(User.id)).all()
        reasons = [
            {"kind": "renamed", "by": "Annie", "by_id": anna.id},
            {"kind": "renamed", "by": "Bram B", "by_id": bram.id},
            {"kind": "review", "by": "Bram", "by_id": bram.id, "date": "2026-12-29"},
            {"kind": "wording", "title": "A pause has an end", "by_id": bram.id},
            {"kind": "updated", "by_id": bram.id},
            {"kind": "changed", "by": "Bram", "by_id": bram.id, "title": "A pause has an end"},
            {"kind": "added", "by": "Bram", "by_id": bram.id, "title": None},
        ]
        sentences = set()
        for reason in reasons:
            signature = Signature(user_id=anna.id, user=anna, void_reason=reason)
            for viewer in (anna, bram):
                sentence = signing.why_voided(signature, viewer)
                assert sentence.endswith(".") and "%(" not in sentence
                sentences.add(sentence)
        assert len(sentences) == 2 * len(reasons)


def cookie(person) -> str:
    return person.client.get_cookie("session").value


def test_a_rename_racing_the_second_signature_never_leaves_it_stuck(agreed, app, monkeypatch):
    anna, bram = agreed
    assert sign(anna, "Anna Lou Example").status_code == 302
    rendezvous(monkeypatch, drafting, "current_draft", 2)
    answers = simultaneously(
        app,
        [
            (cookie(bram), "/agreement/sign", sign_data("Bram Example")),
            (cookie(anna), "/settings/profile", {"display_name": "Annie", "locale": "en"}),
        ],
    )
    assert [answer.status for answer in answers] == [302, 302]
    active, voided, final = counts(app)
    if final:
        # The signature came first: final with the name it was signed with.
        assert (active, voided, final) == (2, 0, 1)
    else:
        # The rename came first: Anna's signature is voided, Bram's stands.
        assert (active, voided, final) == (1, 1, 0)
        mine = anna.get("/agreement/sign").text
        assert "You changed your name after you signed." in mine
        not_stuck(mine)
        assert sign(anna, "Annie Lou Example").location == "/agreements"
        assert "Annie" in final_text(bram)


@pytest.mark.parametrize("second", [IN_FOUR_WEEKS, IN_FIVE_WEEKS])
def test_both_signing_at_once_ends_final_or_with_one_voided(agreed, app, monkeypatch, second):
    anna, bram = agreed
    rendezvous(monkeypatch, drafting, "current_draft", 2)
    answers = simultaneously(
        app,
        [
            (cookie(anna), "/agreement/sign", sign_data(review_on=IN_FOUR_WEEKS.isoformat())),
            (
                cookie(bram),
                "/agreement/sign",
                sign_data("Bram Example", review_on=second.isoformat()),
            ),
        ],
    )
    assert [answer.status for answer in answers] == [302, 302]
    if second == IN_FOUR_WEEKS:
        assert counts(app) == (2, 0, 1)
        return
    assert counts(app) == (1, 1, 0)
    with app.app_context():
        voided = db.session.scalar(select(Signature).where(Signature.voided_at.is_not(None)))
        assert voided.void_reason["kind"] == "review"
        first = anna if voided.user.email == anna.email else bram
    page = first.get("/agreement/sign").text
    assert "Your signature no longer counts." in page
    not_stuck(page)
    # Signing again with the date now pre-filled (the partner's) finalises.
    date = re.search(r'name="review_on"[^>]*value="([\d-]+)"', page) or re.search(
        r'value="([\d-]+)"[^>]*name="review_on"', page
    )
    full_name = "Anna Lou Example" if first is anna else "Bram Example"
    assert first.post(
        "/agreement/sign", data=sign_data(full_name, review_on=date.group(1))
    ).location == ("/agreements")
