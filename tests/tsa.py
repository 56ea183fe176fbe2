"""An RFC 3161 time-stamping authority on loopback, for tests: a real HTTP service that
pyHanko's HTTPTimeStamper talks to, answering with tokens made by pyHanko's DummyTimeStamper.

    with TestAuthority() as tsa:
        tsa.url            # http://127.0.0.1:<port>/tsa
        tsa.root           # the root certificate that issued the TSA's certificate
        tsa.mode = "slow"  # or "garbage", "error", "html", "rejected", "other digest"

It counts the requests it answered, and calls `on_request` (if set) as each comes in. The
root and the TSA certificate are made anew for each authority (RSA, which DummyTimeStamper
requires).
"""

import datetime as dt
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.timestamps import DummyTimeStamper

MODES = ("ok", "slow", "garbage", "error", "html", "rejected", "other digest")
SLOW_SECONDS = 3


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject, issuer, public_key, signing_key, *, ca: bool) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        usage = dict.fromkeys(
            (
                "digital_signature",
                "content_commitment",
                "key_encipherment",
                "data_encipherment",
                "key_agreement",
                "encipher_only",
                "decipher_only",
            ),
            False,
        )
        builder = builder.add_extension(
            x509.KeyUsage(key_cert_sign=True, crl_sign=True, **usage), critical=True
        )
    else:
        # RFC 3161, 2.3: a TSA's certificate has only this extended key usage, critical.
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    return builder.sign(signing_key, hashes.SHA256())


def _asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


class TestAuthority:
    """A time-stamping authority served over HTTP on 127.0.0.1 from a thread."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(self, name: str = "Duet test TSA"):
        root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        root = _certificate(
            f"{name} root", f"{name} root", root_key.public_key(), root_key, ca=True
        )
        leaf = _certificate(name, f"{name} root", tsa_key.public_key(), root_key, ca=False)
        self.root = _asn1(root)
        self.root_pem = root.public_bytes(serialization.Encoding.PEM)
        self.certificate = _asn1(leaf)
        self.stamper = DummyTimeStamper(
            tsa_cert=self.certificate,
            tsa_key=asn1_keys.PrivateKeyInfo.load(
                tsa_key.private_bytes(
                    serialization.Encoding.DER,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            ),
        )
        self.mode = "ok"
        self.requests = 0
        self.on_request = None  # called (in the server's thread) as each request comes in
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/tsa"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "TestAuthority":
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def answer(self, body: bytes) -> tuple[int, str, bytes]:
        """The status, content type and body this authority answers a request with."""
        self.requests += 1
        if self.on_request is not None:
            self.on_request()
        if self.mode == "error":
            return 500, "text/plain", b"internal error"
        if self.mode == "html":
            return 200, "text/html", b"<html><body>Log in first</body></html>"
        if self.mode == "garbage":
            return 200, "application/timestamp-reply", b"\x30\x82\x01\x00 not DER at all"
        request = tsp.TimeStampReq.load(body)
        if self.mode == "rejected":
            # A refusal carries no token, which asn1crypto's TimeStampResp cannot leave out.
            status = tsp.PKIStatusInfo(
                {"status": "rejection", "status_string": ["unsupported policy"]}
            ).dump()
            return 200, "application/timestamp-reply", b"\x30" + bytes([len(status)]) + status
        if self.mode == "other digest":
            imprint = request["message_imprint"]
            request = tsp.TimeStampReq(
                {
                    "version": 1,
                    "message_imprint": {
                        "hash_algorithm": imprint["hash_algorithm"],
                        "hashed_message": bytes(len(imprint["hashed_message"].native)),
                    },
                    "nonce": request["nonce"],
                    "cert_req": True,
                }
            )
        if self.mode == "slow":
            time.sleep(SLOW_SECONDS)
        response = self.stamper.request_tsa_response(request)
        return 200, "application/timestamp-reply", response.dump()

    def _handler(self):
        authority = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, content_type, answer = authority.answer(body)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the client gave up waiting (the slow mode)

            def log_message(self, *_args):
                pass

        return Handler
