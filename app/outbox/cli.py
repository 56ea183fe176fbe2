"""`flask outbox work`: the outbox delivered by a process of its own (several servers)."""

import time

import click
from flask import Flask

from app.outbox.worker import Worker


def register_outbox_cli(app: Flask) -> None:
    @app.cli.group()
    def outbox():
        """Deliver the notifications in the outbox."""

    @outbox.command("work")
    @click.option("--once", is_flag=True, help="Deliver what is due now, then stop.")
    def work(once: bool):
        """Deliver notifications until stopped; run with OUTBOX_WORKER=off on the servers."""
        worker = Worker(app)
        poll = app.config["OUTBOX_POLL_SECONDS"]
        while True:
            claimed = worker.run_once()
            if once and claimed < app.config["OUTBOX_BATCH"]:
                return
            if claimed < app.config["OUTBOX_BATCH"]:
                time.sleep(poll)
