"""Rate limits beside the per-address ones: per account, per person, and for the whole site.

The limit strings live in app/config.py; docs/security.md says what they are worth. Every limit
counts POSTs only: reading a page is never limited.
"""

import argparse
import hashlib
import os
import shlex
import sys

import click
from flask import Flask, current_app, request
from flask_login import current_user

from app.extensions import client_network, limiter


def _setting(name: str):
    return lambda: current_app.config[name]


def _typed_email() -> str:
    """The account a form names, as login looks it up; hashed, so no address is stored."""
    from app.accounts.services import normalise_email

    email = normalise_email(request.form.get("email", ""))
    if not email:
        return client_network()  # the form itself will say the email is missing
    return "email:" + hashlib.sha256(email.encode()).hexdigest()


def _signed_in_person() -> str:
    if not current_user.is_authenticated:
        return client_network()  # login_required sends them away
    return f"person:{current_user.id}"


def per_email(setting: str):
    """The limit named by setting, counted by the email typed, whichever address sends it."""
    return limiter.limit(_setting(setting), key_func=_typed_email, methods=["POST"])


# Every form that checks a signed-in person's password draws on one budget, so a stolen
# session cannot spread its guesses over several forms or addresses.
password_checks = limiter.shared_limit(
    _setting("RATELIMIT_PASSWORD_CHECKS"),
    scope="password-checks",
    key_func=_signed_in_person,
    methods=["POST"],
)

# Wrong join codes, counted for the whole site: more addresses make guessing no faster.
# A code that works does not count, and invite links are not limited by this.
failed_joins = limiter.limit(
    _setting("RATELIMIT_JOIN_FAILURES"),
    key_func=lambda: "site",
    methods=["POST"],
    deduct_when=lambda response: response.status_code == 400,
)


def _gunicorn_workers() -> int | None:
    """How many workers gunicorn was told to run, if gunicorn runs this process and says."""
    if "gunicorn" not in sys.modules:
        return None
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False, exit_on_error=False)
    parser.add_argument("-w", "--workers")
    arguments = shlex.split(os.environ.get("GUNICORN_CMD_ARGS", "")) + sys.argv[1:]
    try:
        workers = parser.parse_known_args(arguments)[0].workers
        return int(workers or os.environ.get("WEB_CONCURRENCY", ""))
    except (argparse.ArgumentError, ValueError):
        return None  # set in a config file, or not at all: unknown


def warn_if_counted_per_process(app: Flask) -> None:
    """memory:// counts in each process: with 4 workers, every limit is 4 times as generous."""
    config = app.config
    if not config.get("RATELIMIT_ENABLED", True) or app.testing or app.debug:
        return
    if not config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        return
    if click.get_current_context(silent=True) is not None:
        return  # a flask command, or the development server: one process
    workers = _gunicorn_workers()
    if workers == 1:
        return
    processes = f"{workers} workers" if workers else "several workers or servers"
    app.logger.warning(
        "Rate limits are counted per process (RATELIMIT_STORAGE_URI=memory://): with %s "
        "each limit allows that many times the tries. Point RATELIMIT_STORAGE_URI at a "
        "shared Redis, e.g. redis://127.0.0.1:6379.",
        processes,
    )
