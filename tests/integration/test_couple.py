import re

import pytest
from sqlalchemy import func, select, update

from app.couple.models import Couple, LinkEndedNotice
from app.db import utcnow
from app.extensions import db
from tests.conftest import PASSWORD


def test_dashboard_greets_and_names_the_partner(partners):
    anna, bram = partners
    page = anna.get("/").text
    assert "Hello, Anna" in page
    assert "You and Bram are a couple in Duet." in page
    for step in ("Reflect on your own", "Draft together", "Sign"):
        assert step in page
    assert "You and Anna are a couple in Duet." in bram.get("/").text


def test_invite_page_shows_a_link_and_a_code(person):
    anna = person("Anna")
    code = anna.create_couple()
    link = anna.invite_link()
    assert link.startswith("http://duet.test/join/")
    assert len(code) == 7 and code[3] == "-"
    assert "Works until" in anna.get("/couple/invite").text


def test_waiting_dashboard_points_to_the_invite(person):
    anna = person("Anna")
    anna.create_couple()
    assert "Waiting for your partner" in anna.get("/").text


def test_join_with_the_link_after_registering(person, app):
    anna = person("Anna")
    anna.create_couple()
    path = anna.invite_link().removeprefix("http://duet.test")
    visitor = app.test_client()
    landing = visitor.get(path)
    assert landing.status_code == 200
    assert "Anna invited you to Duet" in landing.text
    register = visitor.post(
        f"/register?next={path}",
        data={"email": "bram@example.com", "display_name": "Bram", "password": PASSWORD},
    )
    assert register.location == path
    assert "Join Anna" in visitor.get(path).text
    assert visitor.post(path).status_code == 302
    assert "You and Anna are a couple" in visitor.get("/").text
    assert "You and Bram are a couple" in anna.get("/").text


def test_wrong_code_gets_a_clear_message_and_keeps_the_typed_code(person):
    anna, bram = person("Anna"), person("Bram")
    anna.create_couple()
    response = bram.join("ZZZ-999")
    assert response.status_code == 400
    assert 'id="code-error"' in response.text
    assert "does not match any couple" in response.text
    assert 'value="ZZZ-999"' in response.text


def test_expired_code_is_refused(person, app):
    anna, bram = person("Anna"), person("Bram")
    code = anna.create_couple()
    with app.app_context():
        db.session.execute(update(Couple).values(invite_expires_at=utcnow()))
        db.session.commit()
    response = bram.join(code)
    assert response.status_code == 400
    assert "expired" in response.text
    assert "This invite has expired" in anna.get("/couple/invite").text


def test_regenerating_retires_the_old_code_and_link(person):
    anna, bram = person("Anna"), person("Bram")
    old_code = anna.create_couple()
    old_path = anna.invite_link().removeprefix("http://duet.test")
    anna.post("/couple/invite/renew")
    new_code = anna.create_couple()
    assert new_code != old_code
    assert bram.join(old_code).status_code == 400
    assert bram.get(old_path).status_code == 404
    assert bram.join(new_code).status_code == 302


def test_third_person_is_told_the_couple_is_full(partners, person):
    anna, _bram = partners
    cleo = person("Cleo")
    with anna.app.app_context():
        code = db.session.scalar(db.select(Couple.invite_code))
    response = cleo.join(code)
    assert response.status_code == 400
    assert "already has two partners" in response.text


def test_someone_already_in_a_couple_cannot_join_another(partners, person):
    anna, _bram = partners
    cleo = person("Cleo")
    code = cleo.create_couple()
    response = anna.join(code)
    assert response.status_code == 400
    assert "already in a couple" in response.text


def test_joining_your_own_code_is_refused(person):
    anna = person("Anna")
    response = anna.join(anna.create_couple())
    assert response.status_code == 400
    assert "your own invite" in response.text


def test_leaving_explains_first_and_needs_the_password(partners):
    anna, bram = partners
    page = anna.get("/couple/leave").text
    assert "The couple ends for both of you." in page
    assert "Bram is told only that your link in Duet has ended, not why." in page
    assert "Bram" in page
    assert "The couple ends for both of you." in bram.get("/couple/leave").text
    wrong = anna.post("/couple/leave", data={"password": "not my password"})
    assert wrong.status_code == 400
    assert 'id="password-error"' in wrong.text
    assert anna.post("/couple/leave", data={"password": PASSWORD}).status_code == 302
    assert "Start with your partner" in bram.get("/").text
    assert bram.get("/couple/leave").status_code == 404


ENDED = (
    "Your link with Anna in Duet has ended. "
    "What you were still drafting together is no longer in Duet. "
    "Your own answers stay with you, and you can start a new couple whenever you want. OK"
)
# What the partner who stays must not learn from the notice: why the link ended.
REASONS = ("left", "leave", "deleted", "account", "help", "pattern", "because", "why")


def _notices(page: str) -> list[str]:
    """The text of each link-ended notice on a page, tags and spacing removed."""
    return [
        " ".join(re.sub(r"<[^>]+>", " ", block).split())
        for block in re.findall(r'<div class="notice" role="status">(.*?)</div>', page, re.S)
        if "has ended" in block
    ]


def _dismiss_path(page: str) -> str:
    return re.search(r'action="(/couple/ended/\d+/dismiss)"', page).group(1)


def _outbox(app) -> list:
    app.extensions["mailman"].outbox = []
    return app.extensions["mailman"].outbox


def test_the_partner_who_stays_is_told_only_that_the_link_ended(partners, app):
    anna, bram = partners
    outbox = _outbox(app)
    assert anna.post("/couple/leave", data={"password": PASSWORD}).status_code == 302
    page = bram.get("/").text
    assert _notices(page) == [ENDED]
    assert not [word for word in REASONS if word in _notices(page)[0].lower()]
    assert "Start with your partner" in page
    assert _notices(anna.get("/").text) == []
    assert outbox == []


def test_a_deleted_account_gives_the_same_notice(partners, app):
    anna, bram = partners
    outbox = _outbox(app)
    assert anna.post("/settings/delete", data={"password": PASSWORD}).status_code == 302
    assert _notices(bram.get("/").text) == [ENDED]
    assert outbox == []


def test_the_notice_keeps_the_name_as_it_was(partners):
    anna, bram = partners
    anna.post("/couple/leave", data={"password": PASSWORD})
    anna.post("/settings/profile", data={"display_name": "Anneke", "locale": "en"})
    assert _notices(bram.get("/").text) == [ENDED]


def test_leaving_before_anyone_joined_leaves_no_notice(person, app):
    anna = person("Anna")
    anna.create_couple()
    assert anna.post("/couple/leave", data={"password": PASSWORD}).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LinkEndedNotice)) == 0


def test_dismissing_the_notice_hides_it_for_good(partners, person):
    anna, bram = partners
    anna.post("/couple/leave", data={"password": PASSWORD})
    path = _dismiss_path(bram.get("/").text)
    cleo = person("Cleo")
    assert cleo.post(path).status_code == 404
    assert _notices(bram.get("/").text) == [ENDED]
    response = bram.post(path)
    assert response.status_code == 302 and response.location == "/"
    assert _notices(bram.get("/").text) == []
    assert bram.post(path).status_code == 404


def test_the_notice_is_in_the_export_of_the_one_who_has_it(partners):
    anna, bram = partners
    anna.post("/couple/leave", data={"password": PASSWORD})
    exported = bram.export()[0]["link_ended_notices"]
    assert [notice["partner_display_name"] for notice in exported] == ["Anna"]
    assert exported[0]["ended_at"]
    assert anna.export()[0]["link_ended_notices"] == []


def test_deleting_an_account_deletes_its_notices(partners, app):
    anna, bram = partners
    anna.post("/couple/leave", data={"password": PASSWORD})
    assert bram.post("/settings/delete", data={"password": PASSWORD}).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LinkEndedNotice)) == 0


def test_an_account_made_on_the_invitation_joins_it_at_once(person, client):
    anna = person("Anna")
    anna.create_couple()
    token = anna.invite_link().rsplit("/", 1)[-1]
    page = client.get(f"/join/{token}")
    assert page.status_code == 200
    assert "Create my account and join Anna" in page.text
    assert f'name="invite" type="hidden" value="{token}"' in page.text
    response = client.post(
        "/register",
        data={
            "email": "bram.invited@example.com",
            "display_name": "Bram",
            "password": "a long enough password",
            "invite": token,
        },
    )
    assert response.status_code == 302 and response.location.endswith("/")
    home = client.get("/").text
    assert "You are now a couple in Duet." in home
    assert "Anna" in home


def test_an_invitation_that_closed_meanwhile_still_makes_the_account(person, client):
    anna, carla = person("Anna"), person("Carla")
    code = anna.create_couple()
    token = anna.invite_link().rsplit("/", 1)[-1]
    carla.join(code)  # the invite is used up before Bram sends the form
    response = client.post(
        "/register",
        data={
            "email": "bram.late@example.com",
            "display_name": "Bram",
            "password": "a long enough password",
            "invite": token,
        },
    )
    assert response.status_code == 302 and response.location.endswith(f"/join/{token}")
    assert client.get("/settings").status_code == 200  # signed in, with an account of his own


def test_a_refused_form_on_the_invitation_keeps_the_invite_and_what_was_typed(person, client):
    anna = person("Anna")
    anna.create_couple()
    token = anna.invite_link().rsplit("/", 1)[-1]
    response = client.post(
        "/register",
        data={
            "email": "not an email",
            "display_name": "Bram",
            "password": "short",
            "invite": token,
        },
    )
    assert response.status_code == 400
    assert f'value="{token}"' in response.text and 'value="Bram"' in response.text
    assert "Create my account and join Anna" in response.text


@pytest.mark.parametrize("token", ["abc\x00def", "x" * 65, "../../etc", "ábc"])
def test_an_invite_token_duet_never_made_is_simply_not_found(client, token):
    assert client.get(f"/join/{token}").status_code in (404, 308)
    response = client.post(
        "/register",
        data={
            "email": "someone@example.com",
            "display_name": "Someone",
            "password": "a long enough password",
            "invite": token,
        },
    )
    # Never a 500: a form carrying a control character is refused as a whole (400); any
    # other makes the account, and the invitation it named does not exist, so it leads there.
    if "\x00" in token:
        assert response.status_code == 400
    else:
        assert response.status_code == 302 and "/join/" in response.location
