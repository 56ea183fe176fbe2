import logging
import re

from sqlalchemy import func, select, update

from app.accounts.models import Device, PasswordReset
from app.db import utcnow
from app.extensions import db
from tests.conftest import PASSWORD


def test_register_logs_in_and_greets(client):
    response = client.post(
        "/register",
        data={"email": "anna@example.com", "display_name": "Anna", "password": PASSWORD},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Hello, Anna" in response.text


def test_register_errors_sit_next_to_the_field_and_keep_what_was_typed(client):
    response = client.post(
        "/register",
        data={"email": "anna@example", "display_name": "Anna Lou", "password": "short"},
    )
    assert response.status_code == 400
    assert 'id="email-error"' in response.text
    assert 'id="password-error"' in response.text
    assert 'value="anna@example"' in response.text
    assert 'value="Anna Lou"' in response.text
    assert 'value="short"' not in response.text


def test_register_twice_with_one_email_is_refused(person, client):
    anna = person("Anna")
    response = client.post(
        "/register", data={"email": anna.email, "display_name": "Imposter", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert "already has an account" in response.text


def test_login_never_reveals_whether_an_email_is_registered(person, client):
    anna = person("Anna", register=True)
    wrong_password = client.post("/login", data={"email": anna.email, "password": "not it at all"})
    unknown = client.post(
        "/login", data={"email": "ghost@example.com", "password": "not it at all"}
    )
    assert wrong_password.status_code == unknown.status_code == 400
    message = "That email and password do not match an account."
    assert message in wrong_password.text and message in unknown.text
    assert 'value="ghost@example.com"' in unknown.text


def test_login_starts_a_new_session_identifier(person, app):
    anna = person("Anna")
    anna.post("/logout")
    with anna.client.session_transaction() as session:
        session["planted"] = "by an attacker"
    anna.login()
    with anna.client.session_transaction() as session:
        assert "planted" not in session
    first = devices(app)
    anna.post("/logout")
    anna.login()
    second = devices(app)
    assert len(first) == len(second) == 1
    assert first != second  # a new device row, with a new session token


def devices(app) -> set[tuple[int, str]]:
    with app.app_context():
        return {tuple(row) for row in db.session.execute(select(Device.id, Device.token_hash))}


def test_logout_ends_the_session_on_the_server(person):
    anna = person("Anna")
    stolen = anna.client.get_cookie("session").value
    assert anna.post("/logout").status_code == 302
    replay = anna.app.test_client()
    replay.set_cookie("session", stolen)
    response = replay.get("/settings")
    assert response.status_code == 302
    assert "/login" in response.location


def test_password_change_ends_every_other_session(person):
    anna = person("Anna")
    laptop = anna.app.test_client()
    laptop.post("/login", data={"email": anna.email, "password": PASSWORD})
    assert laptop.get("/settings").status_code == 200
    response = anna.post(
        "/settings/password",
        data={"current_password": PASSWORD, "new_password": "another calm evening"},
    )
    assert response.status_code == 302
    assert anna.get("/settings").status_code == 200
    assert laptop.get("/settings").status_code == 302


def test_password_change_with_a_wrong_current_password(person):
    anna = person("Anna")
    response = anna.post(
        "/settings/password",
        data={"current_password": "not my password", "new_password": "another calm evening"},
    )
    assert response.status_code == 400
    assert 'id="current_password-error"' in response.text
    assert "That is not your current password." in response.text


def test_profile_name_and_language(person):
    anna = person("Anna")
    response = anna.post("/settings/profile", data={"display_name": "Anneke", "locale": "nl"})
    assert response.status_code == 302
    page = anna.get("/")
    assert '<html lang="nl">' in page.text
    assert "Anneke" in page.text


def test_profile_rejects_an_empty_name_and_keeps_the_language_choice(person):
    anna = person("Anna")
    response = anna.post("/settings/profile", data={"display_name": " ", "locale": "nl"})
    assert response.status_code == 400
    assert 'id="display_name-error"' in response.text
    assert re.search(r'<input checked[^>]*value="nl"|value="nl"[^>]*checked', response.text)


def test_settings_lists_devices_and_signs_one_out(person):
    anna = person("Anna")
    laptop = anna.app.test_client()
    laptop.post(
        "/login",
        data={"email": anna.email, "password": PASSWORD},
        headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"},
    )
    page = anna.get("/settings").text
    assert "Firefox on Linux" in page
    assert "This device" in page
    with anna.app.app_context():
        laptop_device = db.session.scalars(
            select(Device).where(Device.user_agent.contains("Firefox"))
        ).one()
    response = anna.post(f"/settings/devices/{laptop_device.id}/sign-out")
    assert response.status_code == 302
    assert laptop.get("/settings").status_code == 302
    assert anna.get("/settings").status_code == 200


def test_signing_out_this_device_logs_out(person):
    anna = person("Anna")
    with anna.app.app_context():
        device = db.session.scalars(select(Device)).one()
    response = anna.post(f"/settings/devices/{device.id}/sign-out")
    assert "/login" in response.location
    assert anna.get("/settings").status_code == 302


def test_sign_out_every_other_device(person):
    anna = person("Anna")
    laptop = anna.app.test_client()
    laptop.post("/login", data={"email": anna.email, "password": PASSWORD})
    anna.post("/settings/devices/sign-out-others")
    assert laptop.get("/settings").status_code == 302
    assert anna.get("/settings").status_code == 200


def test_export_is_a_zip_download_of_my_data(partners):
    anna, _bram = partners
    response = anna.get("/settings/export")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert 'filename="duet-my-data.zip"' in response.headers["Content-Disposition"]
    data, files = anna.export()
    assert files == {}  # nothing signed yet
    assert data["account"]["email"] == anna.email
    assert data["couple"]["partner_display_name"] == "Bram"
    assert data["signed_in_devices"]


def test_delete_account_says_what_happens_and_needs_the_password(partners):
    anna, bram = partners
    page = anna.get("/settings/delete").text
    assert "the couple ends" in page
    wrong = anna.post("/settings/delete", data={"password": "not my password"})
    assert wrong.status_code == 400
    assert 'id="password-error"' in wrong.text
    assert anna.post("/settings/delete", data={"password": PASSWORD}).status_code == 302
    assert anna.login().status_code == 400
    dashboard = bram.get("/").text
    assert "Start with your partner" in dashboard


def test_forgot_password_sends_a_single_use_link(person, client, app):
    anna = person("Anna")
    anna.post("/logout")
    outbox = _outbox(app)
    response = ask_for_reset(client, anna.email.upper())
    assert response.status_code == 200
    assert len(outbox) == 1
    link = re.search(r"http://duet\.test(/reset-password/\S+)", outbox[0].body).group(1)
    assert client.get(link).status_code == 200
    bad = client.post(link, data={"password": "short"})
    assert bad.status_code == 400
    done = client.post(link, data={"password": "a brand new password"})
    assert done.status_code == 302
    assert client.get(link).status_code == 404
    assert anna.login("a brand new password").status_code == 302


def test_forgot_password_answers_the_same_for_unknown_email(person, client, app):
    anna = person("Anna")
    outbox = _outbox(app)
    for _ in range(2):  # the session settles: a CSRF token, then Flask-Login's mark
        client.post("/forgot-password", data={"email": "first@example.com"})
    known = client.post("/forgot-password", data={"email": anna.email})
    unknown = client.post("/forgot-password", data={"email": "ghost@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert _page(known) == _page(unknown)
    # Nothing is looked up, written or sent before the page has gone out.
    with app.app_context():
        assert db.session.scalar(select(func.count(PasswordReset.id))) == 0
    assert outbox == []
    unknown.close()
    assert outbox == []
    known.close()
    assert [message.to for message in outbox] == [[anna.email]]


def test_a_reset_link_dies_when_the_password_is_changed_in_settings(person, client, app):
    anna = person("Anna")
    outbox = _outbox(app)
    ask_for_reset(client, anna.email)
    link = re.search(r"(/reset-password/\S+)", outbox[0].body).group(1)
    changed = anna.post(
        "/settings/password",
        data={"current_password": PASSWORD, "new_password": "a brand new password"},
    )
    assert changed.status_code == 302
    assert client.get(link).status_code == 404
    assert client.post(link, data={"password": "the attacker's choice"}).status_code == 404
    assert anna.login("a brand new password").status_code == 302


def test_reset_link_expires_after_an_hour(person, client, app):
    anna = person("Anna")
    outbox = _outbox(app)
    ask_for_reset(client, anna.email)
    link = re.search(r"(/reset-password/\S+)", outbox[0].body).group(1)
    with app.app_context():
        db.session.execute(update(PasswordReset).values(expires_at=utcnow()))
        db.session.commit()
    response = client.get(link)
    assert response.status_code == 404
    assert "works once, for one hour" in response.text


def test_without_a_mail_server_the_message_goes_to_the_log(make_app, caplog):
    app = make_app(MAIL_BACKEND="app.mailing")
    client = app.test_client()
    client.post(
        "/register",
        data={"email": "anna@example.com", "display_name": "Anna", "password": PASSWORD},
    )
    client.post("/logout")
    with caplog.at_level(logging.WARNING, logger="duet.mail"):
        ask_for_reset(client, "anna@example.com")
    assert "/reset-password/" in caplog.text
    assert "anna@example.com" in caplog.text


def _page(response) -> tuple:
    """Headers and text, without the time each signed value carries (cookie, CSRF token)."""
    headers = sorted(
        (name, value.split("=")[0] if name == "Set-Cookie" else value)
        for name, value in response.headers.items()
    )
    return headers, re.sub(r'name="csrf_token" value="[^"]*"', "", response.text)


def ask_for_reset(client, email: str):
    """Ask for a reset link and close the response, as a server does once it is sent."""
    response = client.post("/forgot-password", data={"email": email})
    response.close()
    return response


def _outbox(app) -> list:
    """The locmem mail backend's outbox, emptied."""
    app.extensions["mailman"].outbox = []
    return app.extensions["mailman"].outbox


def test_the_welcome_page_carries_the_account_form(client):
    page = client.get("/").text
    assert 'action="/register"' in page and 'name="email"' in page and 'name="password"' in page
    assert 'name="invite" type="hidden" value=""' in page
    response = client.post(
        "/register",
        data={"email": "new@example.com", "display_name": "Nieuw", "password": "long enough words"},
    )
    assert response.status_code == 302 and response.location.endswith("/")
