"""Delivering the outbox: a batch at a time, by a thread in each server process or by
`flask outbox work` on its own.

The thread starts with the first request a process serves (after a fork, in the child), so
nothing extra runs or is started by hand; a committed notification wakes it at once. Tests
start none unless they ask for one (`Worker.start`).
"""

import atexit
import logging
import os
import threading
import time

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.outbox import services
from app.outbox.senders import SENDERS

log = logging.getLogger("duet.outbox")


def deliver_due(limit: int | None = None) -> int:
    """Claim up to `limit` due rows, send each and mark it; how many were claimed."""
    from flask import current_app

    claimed = services.claim(limit or current_app.config["OUTBOX_BATCH"])
    for channel in {item.channel for item in claimed}:
        _send(channel, [item for item in claimed if item.channel == channel])
    return len(claimed)


def _send(channel: str, items: list[services.Claimed]) -> None:
    """Send each on one connection; a broken one is opened again for the next, and a
    server that cannot be reached at all fails the rest of the batch at once."""
    sender = SENDERS[channel]
    connection = None
    for index, item in enumerate(items):
        if connection is None:
            try:
                connection = sender.open()
            except Exception as error:
                for rest in items[index:]:
                    services.mark_failed(rest, type(error).__name__)
                return
        try:
            sender.send(connection, item)
        except Exception as error:
            # Only the class: an SMTP error's text may name the address.
            services.mark_failed(item, type(error).__name__)
            _close(sender, connection)
            connection = None
        else:
            services.mark_sent(item)
    if connection is not None:
        _close(sender, connection)


def _close(sender, connection) -> None:
    try:
        sender.close(connection)
    except Exception:  # a connection that broke is closed already
        log.debug("Closing a %s connection failed.", type(sender).__name__)


def periodic() -> None:
    """Review reminders (once per version and day) and forgetting old rows."""
    # A later feature's dates, in the app's time zone.
    from app.signing.services import enqueue_review_reminders, local_today

    enqueue_review_reminders(local_today())
    services.forget_old()


class Worker:
    """A daemon thread that delivers what is due, woken by each committed notification."""

    def __init__(self, app: Flask):
        self.app = app
        self.woken = threading.Event()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.pid: int | None = None
        self.last_periodic = 0.0

    def start(self) -> "Worker":
        """Start the thread in this process, if it does not run here yet."""
        if self.pid == os.getpid() and self.thread is not None and self.thread.is_alive():
            return self
        self.pid = os.getpid()
        self.stopping.clear()
        self.thread = threading.Thread(target=self._run, name="duet-outbox", daemon=True)
        self.thread.start()
        atexit.register(self.stop)
        return self

    def wake(self) -> None:
        self.start()
        self.woken.set()

    def stop(self, timeout: float = 5) -> None:
        """Finish the mail in hand, then stop."""
        self.stopping.set()
        self.woken.set()
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout)

    def _run(self) -> None:
        config = self.app.config
        while not self.stopping.is_set():
            claimed = self.run_once()
            if claimed < config["OUTBOX_BATCH"]:
                self.woken.wait(config["OUTBOX_POLL_SECONDS"])
                self.woken.clear()

    def run_once(self) -> int:
        """One round: the periodic check when due, then one batch. How many were claimed."""
        config = self.app.config
        with self.app.app_context():
            try:
                if time.monotonic() - self.last_periodic >= config["OUTBOX_PERIODIC_SECONDS"]:
                    self.last_periodic = time.monotonic()
                    periodic()
                return deliver_due()
            except SQLAlchemyError as error:
                # The database is away or busy: the rows wait, nothing is lost.
                log.warning("The outbox could not reach the database: %s.", type(error).__name__)
                return 0
            except Exception:
                log.exception("The outbox worker failed; it goes on.")
                return 0
            finally:
                db.session.remove()


def init_app(app: Flask) -> None:
    """In each process, the thread starts with the first request it serves."""
    if app.config["OUTBOX_WORKER"] != "thread" or app.testing:
        return
    worker = app.extensions[services.WORKER] = Worker(app)

    @app.before_request
    def outbox_worker_running():
        worker.start()
