"""Web Push: the VAPID key pair, this device's subscription, and what a push says.

The key pair signs every push (RFC 8292), so the push service knows it comes from the server
the browser subscribed to. It is given in the configuration (VAPID_PRIVATE_KEY, with
VAPID_PUBLIC_KEY to check against) or made on first use in the instance folder; several
servers must share one, or their pushes are refused. A subscription belongs to the device
it was made on (its Device row) and goes with it: sign-out, quick exit, a new password.

Every push carries the same few neutral words as a mail, in the recipient's language: the
lock screen shows only "Duet: Something new in Duet" (docs/safety.md, "Notifications").
"""

import base64
import binascii
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask, current_app
from py_vapid import Vapid
from sqlalchemy import delete, select

from app.accounts.models import Device, User
from app.db import as_utc
from app.extensions import db
from app.outbox.models import ENDPOINT_MAX_LENGTH, PushSubscription

KEY_FILE = "vapid_private_key.pem"
EXTENSION = "duet.vapid"
#: Lengths of the browser's keys once decoded: an uncompressed P-256 point, a 16-byte secret.
P256DH_BYTES = 65
AUTH_BYTES = 16
#: Collapses every Duet notification on a phone into one: a second replaces the first.
TAG = "duet"


class NotASubscription(ValueError):
    """What the browser sent is not a push subscription Duet will send to."""


@dataclass(frozen=True)
class VapidKeys:
    vapid: Vapid
    #: The application server key a browser subscribes with: base64url, no padding.
    public: str


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _public_of(key: ec.EllipticCurvePrivateKey) -> str:
    return b64url(
        key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )


def _made_on_first_use(instance_path: Path) -> bytes:
    """The key in the instance folder, made now if there is none (readable by its owner only).

    Written aside and linked into place, so that two processes starting at once both end up
    with the one that got there first."""
    path = instance_path / KEY_FILE
    if not path.exists():
        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        descriptor, building = tempfile.mkstemp(prefix=".vapid-", dir=instance_path)
        try:
            with os.fdopen(descriptor, "wb") as handle:  # mkstemp makes it 0600
                handle.write(pem)
            os.link(building, path)
        except FileExistsError:
            pass  # another process made it first: theirs is the key
        finally:
            os.unlink(building)
    return path.read_bytes()


def load_keys(app: Flask) -> VapidKeys:
    """The configured key pair, or the one in the instance folder; SystemExit with one line
    when the configured parts do not belong together."""
    given = app.config.get("VAPID_PRIVATE_KEY")
    try:
        if given:
            text = given.strip().encode()
            vapid = Vapid.from_pem(text) if b"BEGIN" in text else Vapid.from_raw(text)
        else:
            vapid = Vapid.from_pem(_made_on_first_use(Path(app.instance_path)))
    except (ValueError, TypeError, binascii.Error):
        # Not the error's text: it may quote the key.
        raise SystemExit(
            "Duet cannot send Web Push: VAPID_PRIVATE_KEY is not a P-256 private key."
        ) from None
    public = _public_of(vapid.private_key)
    expected = (app.config.get("VAPID_PUBLIC_KEY") or "").strip().rstrip("=")
    if expected and expected != public:
        raise SystemExit(
            "Duet cannot send Web Push: VAPID_PUBLIC_KEY does not belong to VAPID_PRIVATE_KEY."
        )
    return VapidKeys(vapid, public)


def keys() -> VapidKeys:
    """This app's key pair, loaded (or made) once per process."""
    app = current_app._get_current_object()
    found = app.extensions.get(EXTENSION)
    if found is None:
        found = app.extensions[EXTENSION] = load_keys(app)
    return found


def subject() -> str:
    """Who the push services may contact about this server: VAPID_SUBJECT, else the public
    address when it is https, else the mail sender's address."""
    config = current_app.config
    if config.get("VAPID_SUBJECT"):
        return config["VAPID_SUBJECT"]
    if config["PUBLIC_URL"].startswith("https://"):
        return config["PUBLIC_URL"]
    sender = config["MAIL_DEFAULT_SENDER"]
    address = sender.rsplit("<", 1)[-1].rstrip(">").strip()
    return f"mailto:{address}"


def _endpoint_allowed(endpoint: str) -> bool:
    """An https address of a known push service (so the server posts to nobody else), or,
    in tests only, a push service on loopback."""
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    if current_app.testing and parts.scheme == "http" and host == "127.0.0.1":
        return True
    if parts.scheme != "https" or parts.username or parts.password:
        return False
    services = current_app.config["PUSH_SERVICE_HOSTS"]
    return any(host == known or host.endswith("." + known) for known in services)


def _key(keys: dict, name: str, length: int) -> str:
    value = keys.get(name)
    if not isinstance(value, str) or len(value) > 200:
        raise NotASubscription(name)
    try:
        raw = _unb64url(value)
    except (binascii.Error, ValueError):
        raise NotASubscription(name) from None
    if len(raw) != length:
        raise NotASubscription(name)
    return b64url(raw)


def read_subscription(data) -> tuple[str, str, str]:
    """(endpoint, p256dh, auth) from a browser's `PushSubscription.toJSON()`, checked."""
    if not isinstance(data, dict) or not isinstance(data.get("keys"), dict):
        raise NotASubscription("shape")
    endpoint = data.get("endpoint")
    if not isinstance(endpoint, str) or len(endpoint) > ENDPOINT_MAX_LENGTH:
        raise NotASubscription("endpoint")
    if not _endpoint_allowed(endpoint):
        raise NotASubscription("endpoint")
    p256dh = _key(data["keys"], "p256dh", P256DH_BYTES)
    if _unb64url(p256dh)[0] != 4:
        raise NotASubscription("p256dh")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64url(p256dh))
    except ValueError:
        raise NotASubscription("p256dh") from None
    return endpoint, p256dh, _key(data["keys"], "auth", AUTH_BYTES)


def subscribe(user: User, device: Device, endpoint: str, p256dh: str, auth: str) -> None:
    """This device is reached at `endpoint` from now on, and no other device is."""
    db.session.execute(
        delete(PushSubscription).where(
            (PushSubscription.device_id == device.id) | (PushSubscription.endpoint == endpoint)
        )
    )
    db.session.add(
        PushSubscription(
            device_id=device.id, user_id=user.id, endpoint=endpoint, p256dh=p256dh, auth=auth
        )
    )
    db.session.flush()


def forget_device(device_id: int) -> None:
    """This device is reached no more (stopped, signed out, quick exit)."""
    db.session.execute(delete(PushSubscription).where(PushSubscription.device_id == device_id))


def forget_devices_of(user_id: int, keep: int | None = None) -> None:
    """No device of this person's is reached any more, except the device `keep`."""
    db.session.execute(
        delete(PushSubscription).where(
            PushSubscription.user_id == user_id, PushSubscription.device_id != keep
        )
        if keep is not None
        else delete(PushSubscription).where(PushSubscription.user_id == user_id)
    )


def described(device_id: int) -> dict | None:
    """This device's subscription for the person's data export: since when, and which push
    service carries it (the endpoint's host; the rest of the address is the browser's)."""
    found = db.session.execute(
        select(PushSubscription.endpoint, PushSubscription.created_at).where(
            PushSubscription.device_id == device_id
        )
    ).one_or_none()
    if found is None:
        return None
    endpoint, created_at = found
    return {
        "since": as_utc(created_at).isoformat(),
        "push_service": urlsplit(endpoint).hostname,
    }


def subscribed(device: Device | None) -> bool:
    if device is None:
        return False
    return (
        db.session.scalar(
            select(PushSubscription.id).where(PushSubscription.device_id == device.id)
        )
        is not None
    )
