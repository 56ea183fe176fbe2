"""Benchmark of the outbox: how soon a notification's mail arrives, and how many mails a
second one worker delivers, against a real SMTP server on loopback (aiosmtpd).

Three figures, all in the same run against the same server:

1. baseline: a raw smtplib loop sending the same mail over one connection: the most this
   machine and server do, with no database at all;
2. outbox throughput: N rows enqueued, then one worker claiming, sending and marking them
   batch by batch (`deliver_due`, as the thread and `flask outbox work` do), in mails/s and
   as a share of the baseline;
3. change to mail: a change committed with its notification (`unit_of_work` + `notify`, the
   path a request takes), to the moment the server has the mail, with the worker thread
   running as in production (woken by the commit); median and 95th percentile.

Run from the repository root (SQLite in a temporary folder unless DATABASE_URL says else):

    python bench/outbox.py
    python bench/outbox.py --mails 2000 --changes 100
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench python bench/outbox.py

Never run by pytest: it lives outside tests/. See docs/performance.md for the figures.
"""

import argparse
import logging
import os
import smtplib
import statistics
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import delete  # noqa: E402

from app import create_app  # noqa: E402
from app.accounts.models import User  # noqa: E402
from app.extensions import db  # noqa: E402
from app.outbox import services as outbox  # noqa: E402
from app.outbox.kinds import Kind  # noqa: E402
from app.outbox.models import NotificationChoice, OutboxMessage  # noqa: E402
from app.outbox.worker import Worker, deliver_due  # noqa: E402
from app.transaction import unit_of_work  # noqa: E402
from tests.smtp import HOST, MailServer  # noqa: E402


def baseline(server: MailServer, count: int) -> float:
    """mails/s of a plain smtplib loop on one connection."""
    message = EmailMessage()
    message["Subject"] = "Something new in Duet"
    message["From"] = "Duet <duet@localhost>"
    message["To"] = "someone@example.com"
    message.set_content("Hello,\n\nThere is something new for you in Duet.\n" * 3)
    started = time.perf_counter()
    with smtplib.SMTP(HOST, server.port) as smtp:
        for _ in range(count):
            smtp.send_message(message)
    elapsed = time.perf_counter() - started
    server.take()
    return count / elapsed


def make_app(server: MailServer, folder: Path):
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{folder / 'bench.sqlite3'}"
    app = create_app(
        {
            "TESTING": True,  # no thread starts by itself; this script starts one below
            "INSTANCE_PATH": str(folder / "instance"),
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": url,
            "PUBLIC_URL": "http://duet.test",
            "OUTBOX_POLL_SECONDS": 1,
            **server.settings(),
        }
    )
    with app.app_context():
        db.create_all()
        db.session.execute(delete(OutboxMessage))
        db.session.execute(delete(NotificationChoice))
        db.session.execute(delete(User).where(User.email == "bench@example.com"))
        db.session.commit()
    return app


def person(app) -> int:
    with app.app_context(), unit_of_work():
        user = User(email="bench@example.com", display_name="Bench", password_hash="-")
        db.session.add(user)
        db.session.flush()
        db.session.add(NotificationChoice(user_id=user.id, kind=Kind.SIGNED.value, channel="mail"))
        return user.id


def throughput(app, server: MailServer, user_id: int, count: int) -> float:
    with app.app_context(), unit_of_work():
        for index in range(count):
            outbox.notify([user_id], Kind.SIGNED, f"throughput-{index}")
    started = time.perf_counter()
    with app.app_context():
        while deliver_due():
            pass
    elapsed = time.perf_counter() - started
    received = len(server.take())
    assert received == count, f"{received} of {count} arrived"
    return count / elapsed


def latency(app, server: MailServer, user_id: int, count: int) -> list[float]:
    worker = app.extensions[outbox.WORKER] = Worker(app).start()
    times = []
    try:
        for index in range(count):
            server.take()
            with app.app_context():
                started = time.perf_counter()
                with unit_of_work():
                    outbox.notify([user_id], Kind.SIGNED, f"latency-{index}")
            if not server.arrived.wait(10):
                raise SystemExit("a mail did not arrive within 10 s")
            times.append(time.perf_counter() - started)
    finally:
        worker.stop()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=50)
    arguments = parser.parse_args()
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    server = MailServer().start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            app = make_app(server, Path(folder))
            with app.app_context():
                database = db.engine.dialect.name
            user_id = person(app)
            raw = baseline(server, arguments.mails)
            rate = throughput(app, server, user_id, arguments.mails)
            times = sorted(latency(app, server, user_id, arguments.changes))
    finally:
        server.stop()
    p95 = times[max(0, round(0.95 * len(times)) - 1)]
    print(f"database: {database}; mails: {arguments.mails}; changes: {arguments.changes}")
    print(f"baseline, raw smtplib loop on one connection: {raw:8.0f} mails/s")
    print(f"outbox, one worker (claim, send, mark):       {rate:8.0f} mails/s")
    print(f"  ratio to the baseline:                      {rate / raw:8.2f}")
    print(
        f"change committed to mail received: median {statistics.median(times) * 1000:.1f} ms, "
        f"p95 {p95 * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
