"""The live channel: one revision per couple, and one cheap way to ask whether it moved.

Every change the partner should see calls `moved(couple_id, part)` in the transaction that
makes it: the couple's revision and that part's revision move together, with it, or not at
all. A private reflection, a pattern check or a help visit never moves anything.

Every live page asks `GET /live` every two seconds, sending the last ETag it saw and a
short-lived poll token that the previous answer gave it. Two paths answer:

- The fast path (`FastPath`, a WSGI handler in front of Flask) answers only "304 Not
  Modified", and only when it is sure: a valid token (signed, at most five minutes old, bound
  to one device, person and couple), and a revision equal to the one the page has. It reads
  one indexed row from the database, or with `REDIS_URL` the couple's revision and the
  person's sign-out epoch from Redis. No ORM, no template, no session, no login loader.
- Anything else (no token, an old token, a device signed out, a couple ended, a revision
  that moved, Redis without the key) goes on to the full path, `state()`: a Flask view with
  the same login checks as every page, which answers 304, or 200 with each part's revision
  so the page fetches only what moved, or 401. It also hands out the next poll token.

A device signed out, a password changed or an account deleted removes the device's row,
which the database path checks on every poll; with Redis, `signed_out` moves the person's
epoch after that commit, so their tokens stop matching at once (docs/deploying.md).

The same handler also answers the other request a phone repeats, downloading a stored final
PDF (`FastPath.download`), from the device named in the signed session cookie and one
indexed read; every other case is the Flask view's (tests/integration/test_fast_download.py).
"""

import logging
import re
import secrets
import time
from datetime import UTC, datetime
from functools import wraps

import redis
from flask import Blueprint, abort, current_app, g, jsonify, render_template, request
from flask_login import current_user
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import Engine, create_engine, event, update
from werkzeug.http import parse_cookie

from app.extensions import db
from app.headers import security_headers
from app.transaction import after_commit

log = logging.getLogger("duet.live")

PATH = "/live"
#: What a page can follow. Each is a column `<part>_revision` of the couple.
PARTS = ("partner", "reflection", "agreement", "signing", "pause", "review")
TOKEN_HEADER = "X-Live-Token"
TOKEN_MAX_AGE = 300  # seconds; the full path hands out a new one with every answer
TOKEN_SALT = "duet.live"

# The headers every live answer carries, on either path (pinned by tests/integration/test_live.py).
HEADERS = [
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
]

# One indexed read: the couple's revision, if this device is still signed in and its person
# is still in this couple. Plain SQL for the driver itself, `{0}` standing for its placeholder:
# sqlite3 (qmark) or psycopg (pyformat).
REVISION_OF_DEVICE = (
    "SELECT couples.revision FROM devices"
    " JOIN memberships ON memberships.user_id = devices.user_id"
    " JOIN couples ON couples.id = memberships.couple_id"
    " WHERE devices.id = {0} AND devices.user_id = {0} AND couples.id = {0}"
)
PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}

# Downloading a stored final PDF, the other request a phone repeats. The session cookie says
# which device it is (`DEVICE`: the digest of its session token, set at sign-in, signed like
# the rest of the session; never its id, which SQLite may give a later device); the PDF
# comes with one indexed read if that device is still signed in, its person still in the
# couple, and the PDF made. Anything else goes to the Flask view.
DOWNLOAD = re.compile(r"/agreements/([0-9]{1,18})/pdf")
DEVICE = "duet.device"
PDF_OF_DEVICE = (
    "SELECT final_documents.pdf, final_documents.finalised_at, agreements.number FROM devices"
    " JOIN memberships ON memberships.user_id = devices.user_id"
    " JOIN agreements ON agreements.couple_id = memberships.couple_id"
    " JOIN final_documents ON final_documents.agreement_id = agreements.id"
    " WHERE devices.token_hash = {0} AND agreements.id = {0}"
    " AND final_documents.pdf IS NOT NULL"
)

bp = Blueprint("live", __name__)


def moved(couple_id: int, *parts: str) -> int:
    """Move the couple's revision, and these parts' with it, in the current transaction."""
    assert parts and set(parts) <= set(PARTS), parts
    from app.couple.models import Couple  # the couple package's views import this module

    following = Couple.revision + 1
    values = {Couple.revision: following}
    values.update({getattr(Couple, f"{part}_revision"): following for part in parts})
    revision = db.session.execute(
        update(Couple).where(Couple.id == couple_id).values(values).returning(Couple.revision)
    ).scalar_one_or_none()
    if revision is not None and (store := _store()) is not None:
        # Before the commit: Redis is never behind the database. If this transaction rolls
        # back, Redis is ahead for a while, which only sends polls to the full path.
        try:
            store.raise_revision(couple_id, revision)
        except redis.RedisError:
            # The change itself must not fail for it. Redis may now be behind for as long
            # as the key lives (KEEP_REVISION): the partner may learn of it that much later.
            log.warning("Redis did not take couple %s's revision; the change stands.", couple_id)
    return revision


def signed_out(*person_ids: int) -> None:
    """Some of these people's devices were signed out, or their couple ended: once that has
    committed, every poll token they hold stops working on the fast path."""
    store = _store()
    if store is not None:
        after_commit(lambda: store.new_epochs(person_ids))


def _utc(moment) -> datetime:
    """A stored time as the driver hands it over: a datetime (psycopg, in the connection's
    time zone) or SQLite's text in UTC without a zone."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def parts_of(couple) -> dict[str, int]:
    """The revision at which each part last moved, as pages and the endpoint say it."""
    return {part: getattr(couple, f"{part}_revision") for part in PARTS}


def etag_of(couple_id: int | None, revision: int) -> str:
    return f"{couple_id}-{revision}" if couple_id else "none"


def tokens() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=TOKEN_SALT)


def _store() -> "RedisStore | None":
    return current_app.extensions.get("duet.live")


class RedisStore:
    """The couples' revisions and the people's sign-out epochs, shared by every server.

    The database stays the truth: a revision missing here is read from it; a revision
    here is never behind a committed one (see `moved`); an epoch missing here means "ask
    the full path", which sets a new one.
    """

    # Seconds a key lives without being written again. A revision key that expires sends
    # one poll per couple to the database, which writes it again: short, so that a write
    # Redis missed while it was unreachable is caught up within a minute.
    KEEP_REVISION = 60
    KEEP = 24 * 3600
    RAISE = """
        local current = tonumber(redis.call('GET', KEYS[1]) or '0')
        if current < tonumber(ARGV[1]) then
            redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
        end
        return 1
    """

    def __init__(self, url: str):
        # Redis answers in well under a millisecond; one that does not answer within a
        # quarter of a second is treated as down (the full path answers without it).
        self.client = redis.Redis.from_url(url, socket_timeout=0.25, socket_connect_timeout=0.25)
        self._raise = self.client.register_script(self.RAISE)
        self.down_until = 0.0

    DOWN_FOR = 5  # seconds this process leaves Redis alone after it failed to answer

    def _call(self, action):
        """Run one Redis call, or fail at once while Redis was down a moment ago: a poll
        never waits for a Redis that is not there."""
        if time.monotonic() < self.down_until:
            raise redis.ConnectionError("Redis did not answer a moment ago")
        try:
            return action()
        except redis.RedisError:
            self.down_until = time.monotonic() + self.DOWN_FOR
            raise

    @staticmethod
    def revision_key(couple_id: int) -> str:
        return f"duet:live:couple:{couple_id}"

    @staticmethod
    def epoch_key(person_id: int) -> str:
        return f"duet:live:person:{person_id}"

    def read(self, couple_id: int, person_id: int) -> tuple[int | None, bytes | None]:
        keys = (self.revision_key(couple_id), self.epoch_key(person_id))
        revision, epoch = self._call(lambda: self.client.mget(*keys))
        return (int(revision) if revision is not None else None), epoch

    def raise_revision(self, couple_id: int, revision: int) -> None:
        key = self.revision_key(couple_id)
        self._call(lambda: self._raise(keys=[key], args=[revision, self.KEEP_REVISION]))

    def epoch(self, person_id: int) -> str:
        """The person's current epoch, made if missing (after a restart or an expiry)."""
        key = self.epoch_key(person_id)
        fresh = str(secrets.randbelow(2**62))
        self._call(lambda: self.client.set(key, fresh, ex=self.KEEP, nx=True))
        value = self._call(lambda: self.client.get(key))
        return value.decode() if value is not None else fresh

    def new_epochs(self, person_ids) -> None:
        with self.client.pipeline(transaction=False) as pipeline:
            for person_id in person_ids:
                pipeline.incr(self.epoch_key(person_id))
                pipeline.expire(self.epoch_key(person_id), self.KEEP)
            self._call(pipeline.execute)


def init_app(app) -> None:
    if url := app.config.get("REDIS_URL"):
        app.extensions["duet.live"] = RedisStore(url)
    app.register_blueprint(bp)
    with app.app_context():
        sessions = app.session_interface.get_signing_serializer(app)
        app.wsgi_app = FastPath(app.wsgi_app, tokens(), _reader(app), _store(), sessions)
        app.wsgi_app.session_cookie = app.config["SESSION_COOKIE_NAME"]
        app.wsgi_app.session_max_age = int(app.permanent_session_lifetime.total_seconds())


def _reader(app) -> Engine:
    """What the fast path reads with. On PostgreSQL an engine of its own in autocommit,
    without the pool's pre-ping: one round trip per poll instead of four (docs/performance.md),
    and without the pool's rollback when a connection comes back: it only ever ran one SELECT,
    outside any transaction. A connection that dropped fails that one poll over to the full
    path and is replaced."""
    engine = db.engine
    if engine.dialect.name != "postgresql":
        return engine  # SQLite: in the process, nothing to save
    options = {
        k: v for k, v in app.config["SQLALCHEMY_ENGINE_OPTIONS"].items() if k != "pool_pre_ping"
    }
    reader = create_engine(
        engine.url,
        isolation_level="AUTOCOMMIT",
        pool_pre_ping=False,
        pool_reset_on_return=None,
        **options,
    )
    # Disposed whenever the app's own engine is (a test's teardown, a fork's clean-up).
    event.listen(engine, "engine_disposed", lambda _engine: reader.dispose())
    return reader


def follows(*parts: str, reload: tuple[str, ...] = ()):
    """A live page: it follows these parts, and reloads itself when one of `reload` moves
    (unless the person is typing). The couple's revision is read before the view reads
    anything, so what the page shows is never older than the revision it starts from."""
    assert set(parts) | set(reload) <= set(PARTS), (parts, reload)

    def decorator(view):
        @wraps(view)
        def run(*args, **kwargs):
            g.live = {**_page_state(), "follows": parts, "reload": reload}
            return view(*args, **kwargs)

        return run

    return decorator


def reloads(*parts: str) -> None:
    """This page (as the view decided to show it) reloads when one of these parts moves."""
    g.live["reload"] = parts


def _page_state() -> dict:
    from app.couple.services import couple_of

    couple = couple_of(current_user)
    if couple is None:
        return {"couple": "", "etag": etag_of(None, 0), "parts": {}}
    return {
        "couple": str(couple.id),
        "etag": etag_of(couple.id, couple.revision),
        "parts": parts_of(couple),
    }


def render(template: str, regions: dict[str, str], **context) -> str:
    """A live page, or only one of its regions when the live script asks for it
    (header X-Live-Region): the view gathers the same context, one partial is rendered."""
    wanted = request.headers.get("X-Live-Region")
    if wanted is None:
        return render_template(template, **context)
    if wanted not in regions:
        abort(404)
    return render_template(regions[wanted], **context)


@bp.get(PATH)
def state():
    """The full path: the same answer the fast path gives when it can, and every other one."""
    if not current_user.is_authenticated:
        response = jsonify(signed_in=False)
        response.status_code = 401
        return _with_headers(response)
    from app.couple.services import couple_of

    couple = couple_of(current_user)
    store = _store()
    # Without Redis the fast path does not read the epoch; with Redis down, an empty one is a
    # token its fast path never accepts, so every poll comes here until Redis is back.
    epoch = ""
    if store is not None:
        try:
            epoch = store.epoch(current_user.id)
        except redis.RedisError:
            log.warning("Redis is unreachable: live polls go to the full path.")
    device = current_user.current_device
    token = tokens().dumps([device.id, current_user.id, couple.id if couple else 0, epoch])
    if couple is None:
        body = {"couple": None, "revision": 0, "parts": {}}
        tag = etag_of(None, 0)
    else:
        body = {"couple": couple.id, "revision": couple.revision, "parts": parts_of(couple)}
        tag = etag_of(couple.id, couple.revision)
    response = jsonify(body)
    response.set_etag(tag)
    response.headers[TOKEN_HEADER] = token
    return _with_headers(response.make_conditional(request))


def _with_headers(response):
    for name, value in HEADERS:
        response.headers[name] = value
    return response


class FastPath:
    """In front of the Flask app: answers `GET /live` with 304 when it is sure, and passes
    every other request (and every doubt) on unchanged."""

    session_cookie = "session"
    session_max_age = 0

    def __init__(self, wsgi_app, serializer, engine, store: RedisStore | None, sessions=None):
        self.wsgi_app = wsgi_app
        self.serializer = serializer
        self.engine = engine
        self.store = store
        self.sessions = sessions
        from app.signing.services import file_name  # signing moves revisions: imports this

        self.file_name = file_name
        # sqlite3 keeps the statement compiled by its text; psycopg prepares it on the server
        # from its fifth use on a connection.
        placeholder = PLACEHOLDERS[engine.dialect.paramstyle]
        self.sql = REVISION_OF_DEVICE.format(placeholder)
        self.pdf_sql = PDF_OF_DEVICE.format(placeholder)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") == "GET":
            if path == PATH:
                tag = self.unchanged(environ)
                if tag is not None:
                    start_response("304 Not Modified", [("ETag", tag), *HEADERS])
                    return []
            elif self.sessions is not None and (found := DOWNLOAD.fullmatch(path)):
                answer = self.download(environ, int(found[1]))
                if answer is not None:
                    data, name = answer
                    start_response("200 OK", self.download_headers(environ, data, name))
                    return [data]
        return self.wsgi_app(environ, start_response)

    def download(self, environ, agreement: int) -> tuple[bytes, str] | None:
        """The stored PDF and its file name, if this device may have it."""
        cookie = parse_cookie(environ.get("HTTP_COOKIE", "")).get(self.session_cookie)
        if not cookie:
            return None
        try:
            device = self.sessions.loads(cookie, max_age=self.session_max_age).get(DEVICE)
        except (BadData, ValueError, TypeError, AttributeError):
            return None
        if not isinstance(device, str):
            return None
        try:
            rows = self.fetch(self.pdf_sql, (device, agreement))
        except Exception:
            log.warning("The download fast path could not read; Flask answers.", exc_info=True)
            return None
        if len(rows) != 1:
            return None
        data, finalised_at, number = rows[0]
        return bytes(data), self.file_name(_utc(finalised_at), number)

    @staticmethod
    def download_headers(environ, data: bytes, name: str) -> list[tuple[str, str]]:
        """As the Flask view's answer has them (app/navigation.py `attachment`, and the
        headers of app/__init__.py), pinned by tests/integration/test_live.py."""
        return [
            ("Content-Type", "application/pdf"),
            ("Content-Length", str(len(data))),
            ("Content-Disposition", f'attachment; filename="{name}"'),
            ("Cache-Control", "no-store"),
            *security_headers(environ.get("wsgi.url_scheme") == "https"),
        ]

    def unchanged(self, environ) -> str | None:
        """The ETag the page sent, if its token is good and the revision has not moved."""
        token = environ.get("HTTP_X_LIVE_TOKEN")
        sent = environ.get("HTTP_IF_NONE_MATCH")
        if not token or not sent:
            return None
        try:
            device, person, couple, epoch = self.serializer.loads(token, max_age=TOKEN_MAX_AGE)
        except (BadData, ValueError, TypeError):
            return None
        if not couple:
            return None
        try:
            revision = self.revision(device, person, couple, epoch)
        except Exception:
            log.warning("The live fast path could not read; the full path answers.", exc_info=True)
            return None
        if revision is None:
            return None
        tag = f'"{etag_of(couple, revision)}"'
        return tag if sent == tag else None

    def revision(self, device: int, person: int, couple: int, epoch: str) -> int | None:
        if self.store is not None:
            revision, current = self.store.read(couple, person)
            if current is None or current.decode() != str(epoch):
                return None
            if revision is not None:
                return revision
        rows = self.fetch(self.sql, (device, person, couple))
        revision = rows[0][0] if len(rows) == 1 else None
        if revision is not None and self.store is not None:
            self.store.raise_revision(couple, revision)
        return revision

    def fetch(self, sql: str, values: tuple) -> list:
        """The one read, on the pool's driver connection itself: a SQLAlchemy connection,
        execution context and result around it cost several times the query on this path
        (docs/performance.md). A connection that failed is not handed out again."""
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(sql, values)
            rows = cursor.fetchall()
        except Exception:
            connection.invalidate()
            raise
        connection.close()
        return rows
