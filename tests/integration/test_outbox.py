"""The outbox's delivery: leases, retries with backoff, several workers at once, the thread
and the command; against a real SMTP server on loopback, on SQLite and PostgreSQL."""

import logging
import threading
import time

import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.extensions import db
from app.outbox import services as outbox
from app.outbox.kinds import Kind
from app.outbox.models import NotificationChoice, OutboxMessage
from app.outbox.worker import Worker, _send, deliver_due
from app.transaction import unit_of_work

FAST = {
    "OUTBOX_LEASE_SECONDS": 0.3,
    "OUTBOX_RETRY_SECONDS": 0.1,
    "OUTBOX_RETRY_MAX_SECONDS": 1,
    "OUTBOX_MAX_ATTEMPTS": 4,
}


@pytest.fixture
def app(make_app, mail_server):
    return make_app(**mail_server.settings(), **FAST)


def enqueue(app, count: int = 1, kind: Kind = Kind.SIGNED) -> list[int]:
    """`count` notifications for one person who turned mail on: the row ids."""
    with app.app_context(), unit_of_work():
        user = User(
            email=f"p{time.monotonic_ns()}@example.com", display_name="P", password_hash="-"
        )
        db.session.add(user)
        db.session.flush()
        db.session.add(NotificationChoice(user_id=user.id, kind=kind.value, channel="mail"))
        for index in range(count):
            outbox.notify([user.id], kind, f"key-{index}")
        user_id = user.id
    with app.app_context():
        return list(
            db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.user_id == user_id))
        )


def statuses(app) -> list[tuple[str, int]]:
    with app.app_context():
        return db.session.execute(
            select(OutboxMessage.status, OutboxMessage.attempts).order_by(OutboxMessage.id)
        ).all()


def test_a_worker_that_stops_after_claiming_is_followed_by_exactly_one_mail(app, mail_server):
    enqueue(app)
    with app.app_context():
        claimed = outbox.claim(10)  # ... and the worker dies before it sends or marks
        assert len(claimed) == 1
        assert deliver_due() == 0, "a row under lease is left alone"
    assert mail_server.take() == []
    time.sleep(FAST["OUTBOX_LEASE_SECONDS"] + 0.05)
    with app.app_context():
        assert deliver_due() == 1  # a restarted worker, once the lease ended
        assert deliver_due() == 0
    assert len(mail_server.take()) == 1
    assert statuses(app) == [("sent", 2)]


def test_a_late_mark_from_a_worker_whose_lease_ended_changes_nothing(app, mail_server):
    enqueue(app)
    with app.app_context():
        (slow,) = outbox.claim(10)
        time.sleep(FAST["OUTBOX_LEASE_SECONDS"] + 0.05)
        assert deliver_due() == 1  # another worker took it over and sent it
        outbox.mark_failed(slow, "TimeoutError")  # the first one wakes up: too late
    assert statuses(app) == [("sent", 2)]
    assert len(mail_server.take()) == 1


def test_a_server_that_is_down_is_retried_with_backoff_until_it_is_back(app, mail_server, caplog):
    mail_server.stop()
    (row,) = enqueue(app)
    with app.app_context():
        assert deliver_due() == 1
        assert deliver_due() == 0, "the next try waits for its delay"
        first = db.session.get(OutboxMessage, row)
        assert (first.status, first.attempts) == ("pending", 1)
    time.sleep(0.12)
    with app.app_context():
        assert deliver_due() == 1  # still down: the delay doubles
    assert statuses(app) == [("pending", 2)]
    mail_server.start()
    time.sleep(0.22)
    with app.app_context():
        assert deliver_due() == 1
    assert len(mail_server.take()) == 1
    assert statuses(app) == [("sent", 3)]
    lines = [record.getMessage() for record in caplog.records if record.name == "duet.outbox"]
    assert lines and all(f"row {row} (signed)" in line for line in lines)
    assert not any("@" in line for line in lines), "no address in the log"


def test_it_gives_up_after_the_last_attempt(make_app, mail_server, caplog):
    mail_server.stop()
    app = make_app(**mail_server.settings(), **{**FAST, "OUTBOX_MAX_ATTEMPTS": 2})
    enqueue(app)
    with app.app_context():
        deliver_due()
        time.sleep(0.12)
        deliver_due()
    assert statuses(app) == [("failed", 2)]
    assert "giving up" in caplog.text


def test_two_workers_racing_send_each_row_once(app, mail_server):
    rows = enqueue(app, 40)
    claims: list[int] = []

    def work():
        with app.app_context():
            while claimed := outbox.claim(3):
                claims.extend(item.id for item in claimed)
                _send("mail", claimed)

    workers = [threading.Thread(target=work) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert sorted(claims) == sorted(rows), "every row claimed by exactly one worker"
    mails = mail_server.take()
    assert len(mails) == 40
    assert len({message["Message-ID"] for _, message in mails}) == 40
    assert {status for status, _ in statuses(app)} == {"sent"}


def test_the_thread_sends_right_after_the_commit(app, mail_server):
    assert outbox.WORKER not in app.extensions, "tests start no worker unless they ask"
    worker = app.extensions[outbox.WORKER] = Worker(app).start()
    try:
        enqueue(app)  # its commit wakes the thread
        assert mail_server.arrived.wait(5)
    finally:
        worker.stop()
    assert len(mail_server.take()) == 1


def test_flask_outbox_work_once_delivers_what_is_due(app, mail_server):
    enqueue(app, 3)
    result = app.test_cli_runner().invoke(args=["outbox", "work", "--once"])
    assert result.exit_code == 0, result.output
    assert len(mail_server.take()) == 3


def test_the_same_key_is_one_row(app):
    enqueue(app, 1)
    with app.app_context(), unit_of_work():
        user_id = db.session.scalar(select(OutboxMessage.user_id))
        outbox.notify([user_id], Kind.SIGNED, "key-0")
        outbox.notify([user_id], Kind.SIGNED, "key-0")
    assert len(statuses(app)) == 1


@pytest.fixture(autouse=True)
def _quiet(caplog):
    caplog.set_level(logging.INFO, logger="duet.outbox")


def test_rows_another_worker_holds_are_skipped_not_waited_for(app, mail_server):
    """PostgreSQL: a claim passes over rows another worker's claim has locked."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite serialises claims with its write lock instead")
    rows = enqueue(app, 4)
    with app.app_context(), db.engine.connect() as other:
        other.execute(
            select(OutboxMessage.id).where(OutboxMessage.id.in_(rows[:2])).with_for_update()
        ).all()
        started = time.monotonic()
        claimed = outbox.claim(10)
        assert time.monotonic() - started < 1, "it waited for the other worker's lock"
        assert sorted(item.id for item in claimed) == rows[2:]
        other.rollback()
