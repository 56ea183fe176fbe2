"""Duet as it is deployed, for tests that need real servers: gunicorn processes started and
stopped here, and a plain HTTP client that keeps its cookies like a browser.

The client is not tied to one server: each request names the server it goes to, as a reverse
proxy in front of several servers may send each request of one browser to another.
"""

import http.client
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from email.message import Message
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
GUNICORN = Path(sys.executable).with_name("gunicorn")
START_TIMEOUT = 60  # seconds for every worker to load the app, on a busy machine

# Each worker leaves a file named after its pid, holding the port it serves: the server binds
# port 0, so no other process can take the port between choosing it and binding it.
HOOKS = """
import pathlib


def post_worker_init(worker):
    port = worker.sockets[0].getsockname()[1]
    pathlib.Path(%r, str(worker.pid)).write_text(str(port))
"""


class Gunicorn:
    """`gunicorn "app:create_app()"` with this environment, in a process group of its own.

    Starting returns at once, so that several servers load at the same time; `wait()` returns
    once every worker has loaded the app. `stop()` ends the whole group, workers too.
    """

    def __init__(self, name: str, env: dict[str, str], folder: Path, workers: int = 2):
        self.name = name
        self.workers = workers
        self.port: int | None = None
        self.log = folder / f"gunicorn-{name}.log"
        self.ready = folder / f"ready-{name}"
        self.ready.mkdir()
        hooks = folder / f"gunicorn-{name}.conf.py"
        hooks.write_text(HOOKS % str(self.ready))
        command = [
            str(GUNICORN),
            "--config",
            str(hooks),
            "--bind",
            f"{HOST}:0",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--log-level",
            "warning",
            "--error-logfile",
            str(self.log),
            "app:create_app()",
        ]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )

    def wait(self) -> "Gunicorn":
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn {self.name} stopped at start:\n{self.log_tail()}")
            ports = {path.read_text() for path in self.ready.iterdir()}
            if len(list(self.ready.iterdir())) >= self.workers and "" not in ports:
                (port,) = ports
                self.port = int(port)
                return self
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn {self.name}: workers not up in {START_TIMEOUT} s")

    def log_tail(self, characters: int = 3000) -> str:
        return self.log.read_text()[-characters:] if self.log.exists() else "(no log)"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@dataclass
class Answer:
    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    @property
    def location(self) -> str | None:
        return self.headers.get("Location")


class Browser:
    """One browser: its cookies go with every request, to whichever server it is sent.

    `address` is what the proxy would put in X-Forwarded-For (servers run with TRUST_PROXY=1),
    so each browser is one visitor to the per-address rate limits.
    """

    def __init__(self, address: str, user_agent: str = "duet-tests/1.0"):
        self.address = address
        self.user_agent = user_agent
        self.email: str | None = None  # of the person signed in, when a test needs it
        self.cookies: dict[str, str] = {}

    def request(self, server: Gunicorn, method: str, path: str, body=None, headers=None):
        sent = {"X-Forwarded-For": self.address, "User-Agent": self.user_agent}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        sent.update(headers or {})
        connection = http.client.HTTPConnection(HOST, server.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            answer = Answer(response.status, response.headers, response.read())
        finally:
            connection.close()
        self._keep_cookies(answer.headers.get_all("Set-Cookie") or [])
        return answer

    def _keep_cookies(self, lines: list[str]) -> None:
        for line in lines:
            for name, morsel in SimpleCookie(line).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def get(self, server: Gunicorn, path: str, headers=None) -> Answer:
        return self.request(server, "GET", path, headers=headers)

    def csrf_token(self, server: Gunicorn) -> str:
        """The CSRF token of this browser's session, from the home page's language form (every
        page carries one)."""
        page = self.get(server, "/").text
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def post(self, server: Gunicorn, path: str, data: dict, token_from: Gunicorn | None = None):
        """Send a form to `server`, with the CSRF token of a page that `token_from` served (the
        same server unless said)."""
        fields = {"csrf_token": self.csrf_token(token_from or server), **data}
        return self.request(
            server,
            "POST",
            path,
            body=urlencode(fields),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    def upload(self, server: Gunicorn, path: str, field: str, filename: str, content: bytes):
        """Send one file as a multipart form, with the page's CSRF token."""
        boundary = "duet-test-boundary"
        token = self.csrf_token(server)
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
                f"{token}\r\n--{boundary}\r\n"
                f'Content-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
                "Content-Type: application/pdf\r\n\r\n"
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        content_type = f"multipart/form-data; boundary={boundary}"
        return self.request(server, "POST", path, body=body, headers={"Content-Type": content_type})
