"""A Web Push service on loopback, and browsers' subscriptions to it, for the outbox tests.

Each `Browser` makes its own ECDH key pair and auth secret, as a browser does when a page
subscribes, and a subscription on the service's address with Duet's application server key.
The service takes a push only as a real one would: a VAPID JWT (ES256, RFC 8292) signed by
that very key, for the service's own origin, not expired, with a subject; an aes128gcm body
(RFC 8188/8291) that it decrypts with the browser's private key, as the browser would; and
a TTL. It keeps what it decrypted, and answers each endpoint with the status the test sets.
"""

import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

HOST = "127.0.0.1"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """One browser's subscription: what `PushSubscription.toJSON()` gives the page."""

    endpoint: str
    server_key: str
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def subscription(self) -> dict:
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)},
        }


@dataclass
class Received:
    endpoint: str
    message: dict
    ttl: int
    urgency: str | None


class Refused(Exception):
    """A push a real push service would refuse: the test fails on it."""


class PushService:
    def __init__(self):
        self.browsers: dict[str, Browser] = {}
        self.received: list[Received] = []
        self.refused: list[str] = []
        self.answers: dict[str, int] = {}
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer((HOST, 0), self._handler())
        self.origin = f"http://{HOST}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "PushService":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def browser(self, server_key: str) -> Browser:
        """A new browser subscribing with Duet's application server key."""
        endpoint = f"{self.origin}/push/{b64url(os.urandom(12))}"
        browser = Browser(endpoint, server_key)
        self.browsers[endpoint] = browser
        return browser

    def answer(self, browser: Browser, status: int) -> None:
        """From now on, answer pushes to this browser with `status` (201 takes them)."""
        self.answers[browser.endpoint] = status

    def take(self) -> list[Received]:
        with self.lock:
            taken, self.received = self.received, []
        assert not self.refused, self.refused
        return taken

    def _check_vapid(self, header: str, browser: Browser) -> None:
        scheme, _, params = header.partition(" ")
        if scheme != "vapid":
            raise Refused(f"Authorization scheme {scheme!r}")
        parts = dict(part.split("=", 1) for part in params.split(","))
        if parts.get("k") != browser.server_key:
            raise Refused("signed with another key than the one subscribed with")
        head, claims, signature = parts["t"].split(".")
        if json.loads(unb64url(head)) != {"typ": "JWT", "alg": "ES256"}:
            raise Refused("JWT header")
        raw = unb64url(signature)
        if len(raw) != 64:
            raise Refused("ES256 signature length")
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(parts["k"]))
        der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
        try:
            public.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise Refused("VAPID signature") from None
        claims = json.loads(unb64url(claims))
        if claims.get("aud") != self.origin:
            raise Refused(f"audience {claims.get('aud')!r}")
        if not time.time() < claims.get("exp", 0) <= time.time() + 24 * 3600:
            raise Refused("expiry")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https://")):
            raise Refused("subject")

    def _handler(self):
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):
                pass

            def do_POST(self):
                endpoint = service.origin + self.path
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                browser = service.browsers.get(endpoint)
                status = service.answers.get(endpoint, 201)
                try:
                    if browser is None:
                        raise Refused("no such subscription")
                    self._take(browser, endpoint, body, status)
                except Refused as error:
                    with service.lock:
                        service.refused.append(str(error))
                    status = 400
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _take(self, browser, endpoint, body, status):
                service._check_vapid(self.headers.get("Authorization", ""), browser)
                if self.headers.get("Content-Encoding") != "aes128gcm":
                    raise Refused("content encoding")
                if "TTL" not in self.headers:
                    raise Refused("no TTL")
                plain = http_ece.decrypt(
                    body,
                    private_key=browser.private_key,
                    auth_secret=browser.auth,
                    version="aes128gcm",
                )
                if status < 300:
                    with service.lock:
                        service.received.append(
                            Received(
                                endpoint,
                                json.loads(plain),
                                int(self.headers["TTL"]),
                                self.headers.get("Urgency"),
                            )
                        )

        return Handler
