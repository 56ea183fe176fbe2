"""Every kind of form over HTTPS, through a real TLS-terminating proxy in front of Duet.

Debian's nginx, started here with a certificate made here, terminates TLS and passes
X-Forwarded-For and X-Forwarded-Proto to the app (TRUST_PROXY=1), so Flask-WTF checks each
POST's Referer strictly. Anna and Bram register, Anna logs out and in again, they pair with
the code, Anna's answer autosaves, both agree to every clause and sign, and the PDF downloads.
Quick exit sends no Referer to the site it opens, and the browser honours its
Clear-Site-Data over HTTPS.
"""

import ipaddress
import os
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.browser.conftest import (
    PHONE,
    RENDER_TIMEOUT_MS,
    TIMEOUT_MS,
    _in_ci,
    live_app,
    serving,
)
from tests.browser.pages import PASSWORD, SUBMIT, expect, fill_registration, follow, open_page
from tests.browser.test_signing import sign_here, start_and_agree

pytestmark = pytest.mark.browser

NGINX = Path("/usr/sbin/nginx")
# What the stand-in neutral site (the second server below) saw: the Referer of each visit.
NEUTRAL = {}

NGINX_CONF = """
daemon off;
master_process off;  # one process as this user, so it can use the temp folders below
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    log_format referer "$http_referer";
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {tmp}/cert.pem;
        ssl_certificate_key {tmp}/key.pem;
        location / {{
            proxy_pass {upstream};
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
    server {{  # the neutral site quick exit leads to, another origin over TLS
        listen 127.0.0.1:{neutral_port} ssl;
        ssl_certificate {tmp}/cert.pem;
        ssl_certificate_key {tmp}/key.pem;
        access_log {tmp}/neutral.log referer;
        location / {{
            default_type text/html;
            return 200 "<!doctype html><title>Weather</title><p>Sunny spells.</p>";
        }}
    }}
}}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _write_certificate(folder: Path) -> None:
    """A self-signed certificate for 127.0.0.1, valid for a day: cert.pem and key.pem."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _wait_until_listening(process, port: int, error_log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"nginx stopped (exit {process.returncode}):\n{error_log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"nginx did not listen on port {port} within 15 s:\n{error_log.read_text()}")


@pytest.fixture(scope="module")
def https_url(browser, request, tmp_path_factory, database_url_factory):
    """Duet behind nginx over TLS on a free port; yields the https:// base URL."""
    if not os.access(NGINX, os.X_OK):
        message = f"the HTTPS test needs Debian's nginx at {NGINX}: `apt-get install -y nginx`"
        if _in_ci():
            pytest.fail(f"CI is set, so this test may not be skipped: {message}", pytrace=False)
        pytest.skip(message)

    port, neutral_port = _free_port(), _free_port()
    base_url = f"https://127.0.0.1:{port}"
    tmp = tmp_path_factory.mktemp("nginx")
    NEUTRAL.update(url=f"https://127.0.0.1:{neutral_port}/", log=tmp / "neutral.log")
    app = live_app(
        request,
        tmp_path_factory,
        database_url_factory,
        TRUST_PROXY=1,
        PUBLIC_URL=base_url,
        QUICK_EXIT_URL=NEUTRAL["url"],
    )
    _write_certificate(tmp)
    with serving(app) as upstream:
        config = tmp / "nginx.conf"
        config.write_text(
            NGINX_CONF.format(tmp=tmp, port=port, neutral_port=neutral_port, upstream=upstream)
        )
        error_log = tmp / "error.log"
        process = subprocess.Popen(
            [str(NGINX), "-p", str(tmp), "-c", str(config), "-e", str(error_log)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_until_listening(process, port, error_log)
            yield base_url
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture
def phone(browser, https_url):
    """A factory for phones that trust the test's certificate."""
    contexts = []

    def make():
        context = browser.new_context(
            base_url=https_url, locale="en-GB", ignore_https_errors=True, **PHONE
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def register(page, email: str, name: str):
    response = open_page(page, "/register")
    assert response.header_value("server").startswith("nginx"), "not served through the proxy"
    assert response.header_value("strict-transport-security"), "HTTPS was not recognised"
    fill_registration(page, email, name)


# A live page moves within a poll or two (every 2 s); more on a loaded machine.
LIVE_MS = 10_000


def sign(page, full_name: str, timeout: float | None = None):
    open_page(page, "/agreement/sign")
    sign_here(page, full_name, timeout)


def test_every_kind_of_form_posts_over_https(phone, https_url, tmp_path):
    anna, bram = phone(), phone()
    register(anna, "anna.https@example.com", "Anna")
    follow(anna, 'header form[action="/logout"] button')
    anna.locator("#email").fill("anna.https@example.com")
    anna.locator("#password").fill(PASSWORD)
    follow(anna, SUBMIT)
    assert anna.url == f"{https_url}/", anna.url

    follow(anna, 'main form[action="/couple/new"] button')
    code = anna.locator(".invite-code").inner_text()
    register(bram, "bram.https@example.com", "Bram")
    open_page(bram, "/couple/join")
    bram.locator("#code").fill(code)
    follow(bram, SUBMIT)
    expect(bram.locator("main")).to_contain_text("Anna")
    # Anna's invite page moves home by itself (the live channel, over HTTPS too): wait for
    # it rather than race its reload.
    expect(anna).to_have_url(f"{https_url}/", timeout=LIVE_MS)
    # and let it finish loading (its favicon): a request cut off through the proxy leaves
    # the test server a file it never closes.
    anna.wait_for_load_state("networkidle")

    # Autosave posts with fetch and the CSRF header.
    open_page(anna, "/reflection/prompts/what-i-feel")
    anna.locator("#text").fill("Said over HTTPS.")
    expect(anna.locator("#save-status")).to_have_text("Saved")

    start_and_agree(anna, bram)

    sign(anna, "Anna de Vries")
    expect(anna.locator("main")).to_contain_text("You have signed.")
    sign(bram, "Bram Jansen", timeout=RENDER_TIMEOUT_MS)  # the second signature finalises
    assert bram.url == f"{https_url}/agreements", bram.url
    with bram.expect_download(timeout=RENDER_TIMEOUT_MS) as download_info:
        bram.get_by_role("link", name="Download the PDF").click()
    target = tmp_path / "agreement.pdf"
    download_info.value.save_as(target)
    assert target.read_bytes().startswith(b"%PDF")

    for page in (anna, bram):
        session = [c for c in page.context.cookies() if c["name"] == "session"]
        assert session and session[0]["secure"], session

    # Anna's signing page moves to the final agreement by itself.
    expect(anna).to_have_url(f"{https_url}/agreements", timeout=LIVE_MS)
    anna.wait_for_load_state("networkidle")

    # Quick exit through the proxy: the neutral site gets no Referer, the browser honours
    # Clear-Site-Data over HTTPS (no cookie of Duet's is left), and Back is signed out.
    open_page(anna, "/reflection/prompts/what-i-feel")
    with anna.expect_navigation(url=NEUTRAL["url"]):
        anna.locator("[data-quick-exit]").click()
    expect(anna).to_have_title("Weather")
    # The page itself came without a Referer; later lines are its own favicon's request.
    referers = NEUTRAL["log"].read_text().split()
    assert referers[0] == "-" and not [r for r in referers if r.startswith(https_url)], referers
    assert not [c for c in anna.context.cookies(https_url)], anna.context.cookies(https_url)
    anna.go_back()
    assert anna.url == f"{https_url}/login", anna.url
    expect(anna.locator("body")).not_to_contain_text("Said over HTTPS.")
