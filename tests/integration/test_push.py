"""Web Push end to end: partners subscribe their devices as browsers do, the outbox sends
through pywebpush to a push service on loopback that checks the VAPID signature and decrypts
each push with the browser's own key (tests/push.py); nothing private is ever in one, and a
subscription goes with its device."""

import logging
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.content import library
from app.db import utcnow
from app.extensions import db
from app.outbox import push as web_push
from app.outbox.kinds import Kind
from app.outbox.models import OutboxMessage, PushSubscription
from app.outbox.worker import deliver_due
from tests.conftest import PASSWORD, Person
from tests.integration.conftest import do_everything_private
from tests.integration.signing_helpers import png_data_url
from tests.integration.test_signing import sign_data, versions
from tests.push import Browser, PushService

BODIES = {"en": "Something new in Duet", "nl": "Iets nieuws in Duet"}


def neutral(locale: str) -> dict:
    return {"title": "Duet", "body": BODIES[locale], "url": "/", "tag": "duet"}


@pytest.fixture
def push_service():
    service = PushService().start()
    yield service
    service.stop()


def server_key(app) -> str:
    with app.app_context():
        return web_push.keys().public


def subscribe(person, service):
    """What static/js/push.js does after the tap: this device's subscription, to Duet."""
    browser = service.browser(server_key(person.app))
    response = person.post("/settings/push", json=browser.subscription())
    assert response.status_code == 200, response.text
    return browser


def push_on(person, kinds=tuple(Kind)) -> None:
    response = person.post("/settings/notifications", data={"push": [kind.value for kind in kinds]})
    assert response.status_code == 302, response.text


def subscriptions(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(PushSubscription))


def delivered(app, service) -> list[tuple[str, dict]]:
    with app.app_context():
        deliver_due()
    return [(push.endpoint, push.message) for push in service.take()]


def second_device(person) -> Person:
    """The same person signed in on another browser."""
    other = Person(person.app, person.email, person.name)
    assert other.login().status_code == 302
    return other


def test_each_event_pushes_once_to_the_right_device_in_their_language(
    app, push_service, person, caplog
):
    caplog.set_level(logging.DEBUG)
    canary = f"canary-{uuid.uuid4().hex}"
    anna = person("Anna")
    anna_laptop = second_device(anna)  # signed in, never subscribed: gets nothing
    anna_phone = subscribe(anna, push_service)
    push_on(anna)
    code = anna.create_couple()
    bram = person("Bram")
    bram.post("/language", data={"locale": "nl", "next": "/"})
    bram_phone = subscribe(bram, push_service)
    push_on(bram)
    to_anna = [(anna_phone.endpoint, neutral("en"))]
    to_bram = [(bram_phone.endpoint, neutral("nl"))]

    assert bram.join(code).status_code == 302
    assert delivered(app, push_service) == to_anna  # joined

    with app.app_context():
        content = library()
    do_everything_private((anna, bram), content, canary)
    assert delivered(app, push_service) == []  # nothing private pushes

    assert bram.post(f"/reflection/prompts/{content.prompts[0].id}/share").status_code == 302
    assert delivered(app, push_service) == to_anna  # shared, with its canary

    anna.post("/agreement/start", data={"language": "en", "starter": "basic"})
    assert delivered(app, push_service) == to_bram  # started
    for clause, version in versions(anna).items():
        anna.post(f"/agreement/clauses/{clause}/approve", data={"version": version})
    assert delivered(app, push_service) == to_bram  # Anna agreed to everything and waits
    for clause, version in versions(bram).items():
        bram.post(f"/agreement/clauses/{clause}/approve", data={"version": version})
    assert delivered(app, push_service) == to_anna
    assert anna.post("/agreement/sign", data=sign_data()).status_code == 302
    assert delivered(app, push_service) == to_bram  # signed: his signature is the last step
    done = bram.post("/agreement/sign", data=sign_data("Bram Example", signature=png_data_url()))
    assert done.status_code == 302
    assert delivered(app, push_service) == to_anna  # final
    assert anna_laptop.get("/").status_code == 200  # still signed in, still never pushed to

    with app.app_context():
        assert set(db.session.scalars(select(OutboxMessage.status))) == {"sent"}
    for record in caplog.records:
        line = record.getMessage()
        assert canary not in line
        if record.name.startswith("duet"):  # urllib3 names it at DEBUG, as for any request
            assert "/push/" not in line, "a log line names an endpoint"


def test_every_push_is_signed_and_encrypted_as_a_push_service_requires(app, push_service, partners):
    """tests/push.py refuses any push a real service would; here its details too."""
    anna, bram = partners
    subscribe(bram, push_service)
    push_on(bram, [Kind.STARTED])
    anna.post("/agreement/start", data={"language": "en", "starter": "basic"})
    with app.app_context():
        deliver_due()
    (received,) = push_service.take()
    assert received.message == neutral("en")
    assert received.ttl == app.config["PUSH_TTL_SECONDS"]
    assert received.urgency == "normal"


def test_a_subscription_the_push_service_says_is_gone_is_deleted(
    app, push_service, partners, caplog
):
    caplog.set_level(logging.INFO, "duet.outbox")
    anna, bram = partners
    phone = subscribe(bram, push_service)
    push_on(bram, [Kind.STARTED])
    push_service.answer(phone, 410)
    anna.post("/agreement/start", data={"language": "en", "starter": "basic"})
    with app.app_context():
        assert deliver_due() == 1
    assert push_service.take() == []
    assert subscriptions(app) == 0
    with app.app_context():
        # Not retried: there is nobody left to reach on that phone.
        assert db.session.scalar(select(OutboxMessage.status)) == "sent"
    (line,) = [r.getMessage() for r in caplog.records if r.name == "duet.outbox"]
    assert re.fullmatch(r"Outbox row \d+ \(started\): the push service answered 410; .*", line)


def test_a_push_service_that_fails_is_tried_again_later(app, push_service, partners, caplog):
    anna, bram = partners
    phone = subscribe(bram, push_service)
    push_on(bram, [Kind.STARTED])
    push_service.answer(phone, 500)
    anna.post("/agreement/start", data={"language": "en", "starter": "basic"})
    with app.app_context():
        assert deliver_due() == 1
        row = db.session.scalar(select(OutboxMessage))
        assert (row.status, row.attempts) == ("pending", 1)
        assert row.due_at.replace(tzinfo=None) > utcnow().replace(tzinfo=None)
        assert deliver_due() == 0  # not due yet: the backoff holds it
    assert push_service.take() == []
    assert subscriptions(app) == 1
    assert any(
        re.fullmatch(r"Outbox row \d+ \(started\): the push service answered 500\.", r.getMessage())
        for r in caplog.records
    )

    push_service.answer(phone, 201)
    with app.app_context():
        db.session.execute(update(OutboxMessage).values(due_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert delivered(app, push_service) == [(phone.endpoint, neutral("en"))]
    with app.app_context():
        assert db.session.scalar(select(OutboxMessage.status)) == "sent"


def test_the_data_export_says_which_devices_are_notified(app, push_service, person):
    anna = person("Anna")
    laptop = second_device(anna)
    subscribe(anna, push_service)
    data, _files = anna.export()
    pushes = sorted(
        (device["push_notifications"] or {}).get("push_service", "")
        for device in data["signed_in_devices"]
    )
    assert pushes == ["", "127.0.0.1"]
    assert laptop.get("/").status_code == 200


def test_signing_a_device_out_removes_its_subscription(app, push_service, person):
    anna = person("Anna")
    laptop = second_device(anna)
    subscribe(anna, push_service)
    subscribe(laptop, push_service)
    assert subscriptions(app) == 2
    page = laptop.get("/settings").text
    ids = re.findall(r"/settings/devices/(\d+)/sign-out", page)
    assert len(ids) == 2
    with app.app_context():
        phone_device = db.session.scalar(
            select(PushSubscription.device_id).order_by(PushSubscription.id)
        )
    assert laptop.post(f"/settings/devices/{phone_device}/sign-out").status_code == 302
    assert subscriptions(app) == 1
    assert laptop.post("/logout").status_code == 302
    assert subscriptions(app) == 0


def test_quick_exit_removes_this_devices_subscription(app, push_service, person):
    anna = person("Anna")
    laptop = second_device(anna)
    subscribe(anna, push_service)
    subscribe(laptop, push_service)
    assert anna.get("/exit").status_code == 303
    assert subscriptions(app) == 1  # the laptop's stays: only this phone left
    assert laptop.post("/settings/push/stop").status_code == 302
    assert subscriptions(app) == 0


def test_a_new_password_ends_every_other_devices_subscription(app, push_service, person):
    anna = person("Anna")
    laptop = second_device(anna)
    subscribe(anna, push_service)
    subscribe(laptop, push_service)
    response = anna.post(
        "/settings/password",
        data={"current_password": PASSWORD, "new_password": "another long one 1"},
    )
    assert response.status_code == 302
    assert subscriptions(app) == 1  # this device's, kept


def test_a_browser_that_subscribes_again_is_one_device(app, push_service, person):
    """The same browser, used by another person after the first left without signing out,
    is reached for the second only: an endpoint belongs to one device."""
    anna, cleo = person("Anna"), person("Cleo")
    browser = subscribe(anna, push_service)
    assert cleo.post("/settings/push", json=browser.subscription()).status_code == 200
    with app.app_context():
        rows = db.session.execute(select(PushSubscription.user_id)).all()
    assert len(rows) == 1
    assert subscribe(anna, push_service)  # a new one for Anna's device replaces her old
    assert subscriptions(app) == 2


def _changed(change):
    def make(subscription: dict) -> dict:
        change(subscription)
        return {"json": subscription}

    return make


REFUSED = {
    "not-json": lambda s: {"data": {"endpoint": s["endpoint"]}},
    "plain-http": _changed(lambda s: s.update(endpoint="http://fcm.googleapis.com/x")),
    "unknown-service": _changed(lambda s: s.update(endpoint="https://evil.example/x")),
    "loopback-by-name": _changed(lambda s: s.update(endpoint="http://localhost:1/x")),
    "lookalike-host": _changed(
        lambda s: s.update(endpoint="https://fcm.googleapis.com.evil.example/x")
    ),
    "with-password": _changed(lambda s: s.update(endpoint="https://a:b@fcm.googleapis.com/x")),
    "too-long": _changed(lambda s: s.update(endpoint="https://fcm.googleapis.com/" + "a" * 1100)),
    "short-p256dh": _changed(lambda s: s["keys"].update(p256dh=s["keys"]["p256dh"][:-4])),
    "p256dh-not-a-point": _changed(lambda s: s["keys"].update(p256dh="BA" + "A" * 85)),
    "long-auth": _changed(lambda s: s["keys"].update(auth=s["keys"]["auth"] + "AAAA")),
    "auth-not-base64": _changed(lambda s: s["keys"].update(auth="not base64 at all!!!!!")),
    "no-keys": _changed(lambda s: s.pop("keys")),
    "keys-not-an-object": _changed(lambda s: s.update(keys=["p256dh"])),
    "a-list": lambda s: {"json": [s]},
}


@pytest.mark.parametrize("name", REFUSED)
def test_a_subscription_duet_would_not_send_to_is_refused(app, push_service, person, name):
    anna = person("Anna")
    subscription = push_service.browser(server_key(app)).subscription()
    response = anna.post("/settings/push", **REFUSED[name](subscription))
    assert response.status_code == 400
    assert subscriptions(app) == 0


def test_known_push_services_are_taken(app, person):
    anna = person("Anna")
    for endpoint in (
        "https://fcm.googleapis.com/fcm/send/abc",
        "https://updates.push.services.mozilla.com/wpush/v2/abc",
        "https://web.push.apple.com/QGuQyavXutnMei",
        "https://wns2-db5p.notify.windows.com/w/?token=abc",
    ):
        subscription = Browser(endpoint, server_key(app)).subscription()
        assert anna.post("/settings/push", json=subscription).status_code == 200, endpoint
    assert subscriptions(app) == 1  # one device, one subscription: the last


def test_the_subscription_needs_the_pages_csrf_token(make_app, push_service, person):
    app = make_app(WTF_CSRF_ENABLED=True)
    anna = Person(app, "anna@example.com", "Anna")
    page = anna.get("/register").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    anna.post(
        "/register",
        data={
            "csrf_token": token,
            "email": anna.email,
            "display_name": "Anna",
            "password": PASSWORD,
        },
    )
    page = anna.get("/settings").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    subscription = push_service.browser(server_key(app)).subscription()
    assert anna.post("/settings/push", json=subscription).status_code == 400
    assert subscriptions(app) == 0
    response = anna.post("/settings/push", json=subscription, headers={"X-CSRFToken": token})
    assert response.status_code == 200
    assert subscriptions(app) == 1


def test_settings_offer_the_button_and_push_is_off_until_chosen(app, push_service, person):
    anna = person("Anna")
    page = anna.get("/settings").text
    assert "Notify me on this phone" in page
    assert f'data-key="{server_key(app)}"' in page
    assert 'name="push" type="checkbox"' in page
    assert re.search(r'<input checked[^>]*name="push"', page) is None
    subscribe(anna, push_service)
    page = anna.get("/settings").text
    assert "Stop notifications on this phone" in page
    assert "Notify me on this phone</button>" not in page
    push_on(anna, [Kind.JOINED, Kind.FINAL])
    page = anna.get("/settings").text
    checked = re.findall(
        r'<input checked id="push-\d+" name="push" type="checkbox" value="(\w+)"', page
    )
    assert set(checked) == {"joined", "final"}


def test_the_vapid_key_is_made_once_in_the_instance_folder(make_app, tmp_path):
    app = make_app()
    first = server_key(app)
    path = tmp_path / "instance" / web_push.KEY_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert server_key(make_app()) == first  # another process on the same folder


def test_a_configured_vapid_key_is_used_and_checked(make_app, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = web_push.b64url(
        key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )
    assert server_key(make_app(VAPID_PRIVATE_KEY=pem, VAPID_PUBLIC_KEY=public)) == public
    assert not (tmp_path / "instance" / web_push.KEY_FILE).exists()
    raw = web_push.b64url(key.private_numbers().private_value.to_bytes(32))
    assert server_key(make_app(VAPID_PRIVATE_KEY=raw)) == public
    with pytest.raises(SystemExit, match="VAPID_PUBLIC_KEY does not belong"):
        server_key(make_app(VAPID_PRIVATE_KEY=pem, VAPID_PUBLIC_KEY=public[:-2] + "AA"))


def test_a_push_signed_with_another_key_is_refused_and_tried_again(
    make_app, push_service, person, tmp_path
):
    """The loopback service checks the signature against the key subscribed with."""
    app = make_app()
    anna = Person(app, "anna@example.com", "Anna").register()
    subscribe(anna, push_service)
    push_on(anna, [Kind.JOINED])
    code = anna.create_couple()
    (tmp_path / "instance" / web_push.KEY_FILE).unlink()
    app.extensions.pop(web_push.EXTENSION)  # as after the key was lost and made anew
    bram = Person(app, "bram@example.com", "Bram").register()
    assert bram.join(code).status_code == 302
    with app.app_context():
        deliver_due()
        assert db.session.scalar(select(OutboxMessage.status)) == "pending"
    assert push_service.refused == ["signed with another key than the one subscribed with"]
