"""The public verify page under hostile uploads: bounded answers, never a 500, and the rest of
the site keeps answering while they are checked."""

import http.client
import threading
import time

import pytest
from werkzeug.serving import make_server

from app.signing import pdf, services
from tests import crafted_pdfs as crafted
from tests.unit.test_pdf import make_agreement

CALM_REFUSAL = "This file could not be checked"


def _verify(client, data: bytes):
    # The body as plain bytes: the test client leaves the temporary file of a large one open.
    body, content_type = _multipart(data)
    return client.post("/verify", data=body, content_type=content_type)


def _multipart(data: bytes) -> tuple[bytes, str]:
    boundary = "duet-crafted-upload"
    head = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="document"; filename="agreement.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    )
    body = head.encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.fixture
def sealed(app) -> bytes:
    """An agreement sealed by this instance's seal, as Duet hands it out."""
    with app.app_context():
        return pdf.seal_pdf(pdf.render_pdf(make_agreement("en")), services.sealer())


@pytest.fixture
def hostile(app, sealed):
    contents, limit = crafted.seal_contents(sealed), app.config["VERIFY_MAX_BYTES"]
    return lambda name: crafted.HOSTILE[name](contents, limit)


@pytest.mark.parametrize(
    "name",
    [
        "one field, 60 KB",
        "one field, 150 KB",
        "one field, 1 MB",
        "one field, at the limit",
        "integers, at the limit",
        "a flate bomb, at the limit",
    ],
)
def test_a_hostile_upload_is_refused_calmly(client, hostile, name):
    response = _verify(client, hostile(name))
    assert response.status_code == 422
    assert CALM_REFUSAL in response.text
    assert "Genuine" not in response.text


def test_a_genuine_pdf_with_a_trailing_newline_is_genuine(client, sealed):
    for tail in (b"\n", b"\r\n"):
        response = _verify(client, sealed + tail)
        assert response.status_code == 200
        assert "Genuine and unaltered" in response.text


def test_the_upload_limit_fits_duet_pdfs(app, client, sealed):
    limit = app.config["VERIFY_MAX_BYTES"]
    assert len(sealed) < limit // 10
    response = _verify(client, b"%PDF" + b"0" * limit)
    assert response.status_code == 400
    assert "too large" in response.text


def test_without_a_seal_the_page_answers_calmly(make_app, tmp_path, sealed):
    app = make_app(SEAL_PKCS12_PATH=str(tmp_path / "missing.p12"))
    client = app.test_client()
    assert client.get("/verify").status_code == 200
    response = _verify(client, sealed)
    assert response.status_code == 503
    assert "Checking is not available right now" in response.text


# --- The site while uploads are checked --------------------------------------------------


def _request(port: int, method: str, path: str, body=None, headers=None) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


@pytest.fixture
def served(app):
    """The app on a threaded server, as a port number."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    server.daemon_threads = False
    server.block_on_close = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join()
    server.server_close()


def test_the_home_page_answers_while_two_hostile_uploads_are_checked(served, hostile):
    # Parsing a million integers runs the worker into its CPU budget: the longest-lived case.
    body, content_type = _multipart(hostile("integers, at the limit"))
    answers = []

    def upload():
        answers.append(_request(served, "POST", "/verify", body, {"Content-Type": content_type}))

    uploads = [threading.Thread(target=upload) for _ in range(2)]
    for thread in uploads:
        thread.start()
    seen = 0
    while seen < 2 and any(thread.is_alive() for thread in uploads):
        seen = max(seen, pdf.checkers_running())
        time.sleep(0.005)
    assert seen == 2, "two uploads were never checked at the same time"
    status, page = _request(served, "GET", "/")
    assert status == 200
    assert "Duet" in page
    for thread in uploads:
        thread.join()
    assert [status for status, _page in answers] == [422, 422]
    assert all(CALM_REFUSAL in page for _status, page in answers)
