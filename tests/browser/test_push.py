"""Web Push on the phone (issue 14, point 4), as a person sees it.

Settings never asks for permission on load; the tap does, and the subscription the browser
makes reaches Duet with the page's CSRF token. Headless Chromium has no push service to
subscribe to, so the browser's `pushManager.subscribe` is given one on loopback here; and a
push is handed to the service worker over the DevTools protocol
(`ServiceWorker.deliverPushMessage`), as a push service would, to see what it shows.
"""

import base64
import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.outbox import push as web_push
from app.outbox.models import PushSubscription
from tests.browser.pages import expect, open_page
from tests.browser.test_installable import WORKER_MS, WORKER_READY
from tests.push import Browser

pytestmark = pytest.mark.browser

NOTIFICATIONS = """async () => {
  const registration = await navigator.serviceWorker.ready;
  return (await registration.getNotifications()).map((n) => ({
    title: n.title, body: n.body, tag: n.tag, icon: new URL(n.icon).pathname,
    renotify: n.renotify, url: n.data && n.data.url,
  }));
}"""


def shown(page, ready) -> list[dict]:
    """The notifications the worker shows, once `ready(them)` holds (within two seconds)."""
    for _ in range(40):
        found = page.evaluate(NOTIFICATIONS)
        if ready(found):
            return found
        page.wait_for_timeout(50)
    raise AssertionError(f"the notifications shown are {found}")


def _registration_id(cdp, page) -> str:
    """The id DevTools gives the page's service worker registration."""
    found = {}
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: found.update(
            (item["scopeURL"], item["registrationId"]) for item in event["registrations"]
        ),
    )
    cdp.send("ServiceWorker.enable")
    page.wait_for_function(WORKER_READY, timeout=WORKER_MS)
    for _ in range(50):
        if found:
            break
        page.wait_for_timeout(100)
    (registration,) = found.values()
    return registration


def test_a_push_shows_one_neutral_notification(live, signed_in, check):
    app, base_url = live
    page = signed_in("nl-NL", "push.shown@example.com", "Sam")
    check(page, "push-home-nl")
    page.context.grant_permissions(["notifications"], origin=base_url)
    open_page(page, "/settings")
    check(page, "push-settings-nl")
    cdp = page.context.new_cdp_session(page)
    registration = _registration_id(cdp, page)

    message = {"title": "Duet", "body": "Iets nieuws in Duet", "url": "/", "tag": "duet"}
    for _ in range(2):  # a second push replaces the first: one notification on the screen
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": base_url, "registrationId": registration, "data": json.dumps(message)},
        )
    shown(page, lambda found: found)
    page.wait_for_timeout(200)  # time for a second one, were it shown beside the first
    assert page.evaluate(NOTIFICATIONS) == [
        {
            "title": "Duet",
            "body": "Iets nieuws in Duet",
            "tag": "duet",
            "icon": "/static/icons/icon-192.png",
            "renotify": False,
            "url": "/",
        }
    ]

    # A push that names another site still opens only Duet's own page.
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": base_url,
            "registrationId": registration,
            "data": json.dumps({**message, "url": "https://elsewhere.example/x"}),
        },
    )
    (notification,) = shown(page, lambda found: found and found[0]["url"] == "/x")
    assert notification["body"] == "Iets nieuws in Duet"


def test_settings_ask_for_notifications_only_after_the_tap(live, signed_in, check):
    app, base_url = live
    page = signed_in("en-GB", "push.tap@example.com", "Alex")
    check(page, "push-home-en")
    with app.app_context():
        key = web_push.keys().public
    endpoint = f"{base_url}/push-service-on-loopback/abc"  # only stored, never sent to here
    fake = Browser(endpoint, key).subscription()
    # What a browser and its push service would give: the permission, then a subscription.
    page.add_init_script(
        f"""(() => {{
          const subscription = {json.dumps(fake)};
          Notification.requestPermission = async () => {{
            const asked = Number(sessionStorage.getItem("asked") || 0) + 1;
            sessionStorage.setItem("asked", String(asked));
            return "granted";
          }};
          PushManager.prototype.getSubscription = async () => null;
          PushManager.prototype.subscribe = async (options) => {{
            const key = new Uint8Array(options.applicationServerKey);
            sessionStorage.setItem("key", btoa(String.fromCharCode(...key)));
            return {{ toJSON: () => subscription, unsubscribe: async () => true }};
          }};
        }})();"""
    )
    open_page(page, "/settings")
    button = page.get_by_role("button", name="Notify me on this phone")
    expect(button).to_be_visible()
    check(page, "push-settings-en")
    asked = 'Number(sessionStorage.getItem("asked") || 0)'
    assert page.evaluate(asked) == 0  # nothing asked on load

    with page.expect_navigation():
        button.click()
    assert page.evaluate(asked) == 1  # the tap asked, once
    subscribed_with = page.evaluate('sessionStorage.getItem("key")')
    assert web_push.b64url(base64.b64decode(subscribed_with)) == key
    expect(
        page.get_by_text("This phone will show a notification for what you choose")
    ).to_be_visible()
    stop = page.get_by_role("button", name="Stop notifications on this phone")
    expect(stop).to_be_visible()
    check(page, "push-settings-subscribed-en")
    with app.app_context():
        stored = db.session.scalars(select(PushSubscription)).all()
        assert [(row.endpoint, row.p256dh, row.auth) for row in stored] == [
            (endpoint, fake["keys"]["p256dh"], fake["keys"]["auth"])
        ]
        db.session.remove()

    with page.expect_navigation():
        stop.click()
    expect(page.get_by_role("button", name="Notify me on this phone")).to_be_visible()
    with app.app_context():
        assert db.session.scalars(select(PushSubscription)).all() == []
        db.session.remove()
