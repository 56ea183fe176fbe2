"""My copy stays mine: each partner keeps every signed version, whatever the other does.

Leaving the couple or deleting an account, by either partner, with the PDF made or still
to be made, leaves the other with every version they signed; the PDF shows what was signed
(from the snapshot taken when it became final), and the data export holds it all.
"""

import re

import pytest
from sqlalchemy import func, select, update

from app.accounts.models import User
from app.extensions import db
from app.signing import services as signing
from app.signing.models import FinalDocument, KeptCopy
from tests.conftest import PASSWORD
from tests.integration.signing_helpers import finalise_through_services


def kept_links(person) -> list[str]:
    page = person.get("/agreements")
    assert page.status_code == 200
    return re.findall(r'href="(/agreements/kept/\d+/pdf)"', page.text)


def original_pdf(app, agreement_id: int) -> bytes:
    with app.app_context():
        return db.session.get(FinalDocument, agreement_id).pdf


def ends(who, how):
    if how == "leave":
        response = who.post("/couple/leave", data={"password": PASSWORD})
    else:
        response = who.post("/settings/delete", data={"password": PASSWORD})
    assert response.status_code == 302


@pytest.mark.parametrize("how", ["leave", "delete"])
@pytest.mark.parametrize("who", ["first", "second"])
def test_the_other_partner_keeps_every_signed_version(partners, app, who, how):
    anna, bram = partners
    first = finalise_through_services(app, anna.email)
    anna.post(f"/agreements/{first}/revise")
    second = finalise_through_services(app, anna.email)
    originals = {original_pdf(app, first), original_pdf(app, second)}

    going, staying = (anna, bram) if who == "first" else (bram, anna)
    ends(going, how)

    links = kept_links(staying)
    assert len(links) == 2
    assert {staying.get(link).data for link in links} == originals
    page = staying.get("/agreements").text
    assert "From an earlier link" in page
    assert "Version 2, with Anna &amp; Bram" in page
    # The notice on the home page says the versions are still there.
    assert "Every version you both signed is still yours" in staying.get("/").text
    if how == "leave":
        assert {going.get(link).data for link in kept_links(going)} == originals
    else:
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(KeptCopy)) == 2


def test_a_pdf_not_made_before_the_couple_ended_is_made_from_what_was_signed(partners, app):
    anna, bram = partners
    agreement_id = finalise_through_services(app, anna.email)
    with app.app_context():
        db.session.execute(
            update(FinalDocument)
            .where(FinalDocument.agreement_id == agreement_id)
            .values(pdf=None, seal_fingerprint=None)
        )
        db.session.commit()
    # A rename after the agreement became final changes nothing in it.
    bram.post("/settings/profile", data={"display_name": "Bram Renamed", "email": bram.email})
    ends(anna, "delete")

    (link,) = kept_links(bram)
    response = bram.get(link)
    assert response.status_code == 200
    assert response.data.startswith(b"%PDF")
    assert re.search(
        r'filename="duet-agreement-\d{4}-\d\d-\d\d-v1.pdf"', response.headers["Content-Disposition"]
    )
    assert bram.get(link).data == response.data  # made once, then served as stored
    with app.app_context():
        copy = db.session.scalar(select(KeptCopy))
        assert copy.seal_fingerprint
        content = signing.snapshot.from_json(copy.content)
        assert content.partners == ("Anna", "Bram")
        assert [item.full_name for item in content.signatures] == ["Anna Example", "Bram Example"]


def test_another_persons_kept_copy_answers_404(partners, person, app):
    anna, bram = partners
    finalise_through_services(app, anna.email)
    ends(anna, "leave")
    (link,) = kept_links(bram)
    stranger = person("Cas")
    assert stranger.get(link).status_code == 404
    assert stranger.get("/agreements").status_code == 200
    assert kept_links(stranger) == []


def test_nothing_is_kept_when_nothing_was_signed(partners, app):
    anna, bram = partners
    anna.post("/agreement/start", data={"language": "en", "starter": "basic"})
    ends(anna, "leave")
    assert kept_links(bram) == []
    assert "Every version you both signed" not in bram.get("/").text


def test_the_export_holds_every_signed_version_as_pdf_and_text(partners, app):
    anna, bram = partners
    agreement_id = finalise_through_services(app, anna.email)
    data, files = anna.export()
    pdfs = sorted(name for name in files if name.endswith(".pdf"))
    assert len(pdfs) == 1 and re.fullmatch(r"agreements/duet-agreement-[\d-]{10}-v1\.pdf", pdfs[0])
    assert files[pdfs[0]] == original_pdf(app, agreement_id)
    text = files[pdfs[0].removesuffix(".pdf") + ".txt"].decode("utf-8")
    assert "Between Anna and Bram" in text
    assert "Signed by Bram (Bram Example)" in text
    assert "1. " in text

    ends(bram, "delete")
    data, files = anna.export()
    kept = sorted(name for name in files if name.startswith("agreements/kept/"))
    assert len(kept) == 2  # the PDF and its text
    assert data["couple"] is None


def test_my_own_copies_go_with_my_account(partners, app):
    anna, bram = partners
    finalise_through_services(app, anna.email)
    ends(anna, "leave")
    ends(anna, "delete")
    with app.app_context():
        owners = db.session.scalars(select(User.email).join(KeptCopy, KeptCopy.user_id == User.id))
        assert list(owners) == [bram.email]
