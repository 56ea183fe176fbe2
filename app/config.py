"""Settings, read from the environment; every limit the app uses lives here."""

import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import make_url


def _database_url(instance_path: Path) -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{instance_path / 'duet.sqlite3'}"
    # Hosting providers hand out postgres:// URLs; SQLAlchemy wants the driver named.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def cannot_write(folder: Path, error: OSError, setting: str) -> SystemExit:
    """One line for the operator instead of a traceback: which folder, why, what to change."""
    return SystemExit(
        f"Duet cannot start: cannot write to {folder} ({error.strerror or error}). "
        f"Make it writable for the user that runs Duet, or set {setting}."
    )


def make_instance_folder(instance_path: Path) -> None:
    try:
        instance_path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise cannot_write(instance_path, error, "DUET_INSTANCE_PATH") from None


def check_sqlite_folder(database_uri: str) -> None:
    """SQLite writes its journal beside the database, so a folder it cannot write would fail
    every request: Duet does not start instead."""
    url = make_url(database_uri)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    if url.query.get("uri"):
        return  # a file: URI, opened as SQLite reads it
    folder = Path(url.database).parent
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise cannot_write(folder, error, "DATABASE_URL") from None


def _secret_key(instance_path: Path) -> str:
    """The key from the environment, else one made on first run and kept in the instance folder."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = instance_path / "secret_key"
    try:
        if not path.exists():
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip()
    except OSError as error:
        raise cannot_write(instance_path, error, "SECRET_KEY or DUET_INSTANCE_PATH") from None


def _seconds(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def engine_options(config) -> dict:
    """Engine options for the configured database, with its timeouts.

    A PostgreSQL server that accepts connections and never answers would otherwise hold each
    request until gunicorn kills the worker. SQLite waits for a lock with its busy timeout
    (app/db.py).
    """
    options = dict(config["SQLALCHEMY_ENGINE_OPTIONS"])
    url = make_url(config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "postgresql":
        connect = config["DATABASE_CONNECT_TIMEOUT"]
        statement = round(config["DATABASE_STATEMENT_TIMEOUT"] * 1000)
        lock = round(config["DATABASE_LOCK_TIMEOUT"] * 1000)
        settings = f"-c statement_timeout={statement} -c lock_timeout={lock}"
        if given := url.query.get("options"):  # settings in the URL come first
            settings = f"{given} {settings}"
        options["pool_timeout"] = connect
        options["connect_args"] = {"connect_timeout": connect, "options": settings}
    return options


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.lower() in {"1", "true", "yes", "on"}


def _proxy_hops(name: str) -> int:
    """How many proxies in front of Duet add X-Forwarded-* headers; on/true means one."""
    value = os.environ.get(name, "").strip().lower()
    if value in {"", "0", "false", "no", "off"}:
        return 0
    if value in {"1", "true", "yes", "on"}:
        return 1
    if value.isdigit():
        return int(value)
    raise SystemExit(f"Duet cannot start: {name} is a number of proxies or on/off, not {value!r}.")


def from_environment(instance_path: Path) -> dict:
    mail_server = os.environ.get("MAIL_SERVER")
    return {
        "SECRET_KEY": _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": _database_url(instance_path),
        # PostgreSQL, in seconds: to connect (libpq's least is 2), for one statement, and to
        # wait for a row lock. A migration on a large table may need a longer statement time.
        "DATABASE_CONNECT_TIMEOUT": round(_seconds("DATABASE_CONNECT_TIMEOUT", 5)),
        "DATABASE_STATEMENT_TIMEOUT": _seconds("DATABASE_STATEMENT_TIMEOUT", 10),
        "DATABASE_LOCK_TIMEOUT": _seconds("DATABASE_LOCK_TIMEOUT", 5),
        "PUBLIC_URL": os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000"),
        # One Redis for several servers: the live channel's revisions and sign-out epochs
        # (app/live.py), and the rate limits' counts unless RATELIMIT_STORAGE_URI says else.
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "RATELIMIT_STORAGE_URI": os.environ.get(
            "RATELIMIT_STORAGE_URI", os.environ.get("REDIS_URL") or "memory://"
        ),
        "TRUST_PROXY": _proxy_hops("TRUST_PROXY"),
        # The largest file the verify page reads; Duet's own PDFs are 30-100 KB.
        "VERIFY_MAX_BYTES": int(os.environ.get("VERIFY_MAX_BYTES", 2 * 1024 * 1024)),
        # A PKCS#12 file to seal PDFs with; without it a key is made in the instance folder.
        "SEAL_PKCS12_PATH": os.environ.get("SEAL_PKCS12_PATH"),
        "SEAL_PKCS12_PASSPHRASE": os.environ.get("SEAL_PKCS12_PASSPHRASE"),
        # An RFC 3161 time-stamping service: each seal then carries a time it vouches for
        # (PAdES B-T). When it fails or is slower than the timeout (seconds), the seal is
        # made without one (B-B) and the log says why.
        "SEAL_TIMESTAMP_URL": os.environ.get("SEAL_TIMESTAMP_URL") or None,
        "SEAL_TIMESTAMP_TIMEOUT": _seconds("SEAL_TIMESTAMP_TIMEOUT", 10),
        # A PEM file with the root certificate(s) of that service; the verify page calls a
        # time confirmed only when the service's certificate leads to one of them.
        "SEAL_TIMESTAMP_TRUST": os.environ.get("SEAL_TIMESTAMP_TRUST") or None,
        # Where "Quick exit" leads: a neutral page, opened in place of the current one.
        "QUICK_EXIT_URL": os.environ.get("QUICK_EXIT_URL", "https://www.wikipedia.org/"),
        # Without a mail server, messages go to the log so development needs no SMTP.
        "MAIL_BACKEND": "smtp" if mail_server else "app.mailing",
        "MAIL_SERVER": mail_server or "localhost",
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "587")),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME"),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD"),
        "MAIL_USE_TLS": _flag("MAIL_USE_TLS", default=True),
        "MAIL_USE_SSL": _flag("MAIL_USE_SSL"),
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER", "Duet <duet@localhost>"),
        # Seconds an SMTP server may take to answer, before the outbox tries again later.
        "MAIL_TIMEOUT": _seconds("MAIL_TIMEOUT", 10),
        # Web Push (app/outbox/push.py): the VAPID key pair that signs every push, as a PEM
        # or a base64url private key; without it one is made in the instance folder. Several
        # servers must share one. The subject is how a push service may reach the operator
        # (mailto: or https:); without it, PUBLIC_URL when https, else MAIL_DEFAULT_SENDER.
        "VAPID_PRIVATE_KEY": os.environ.get("VAPID_PRIVATE_KEY") or None,
        "VAPID_PUBLIC_KEY": os.environ.get("VAPID_PUBLIC_KEY") or None,
        "VAPID_SUBJECT": os.environ.get("VAPID_SUBJECT") or None,
        # Who sends notifications: "thread", a thread in each server process (nothing to
        # start), or "off" where `flask outbox work` runs as its own process.
        "OUTBOX_WORKER": os.environ.get("OUTBOX_WORKER", "thread"),
    }


DEFAULTS = {
    "LANGUAGES": {"en": "English", "nl": "Nederlands"},
    "BABEL_DEFAULT_LOCALE": "en",
    "BABEL_DEFAULT_TIMEZONE": "Europe/Amsterdam",
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "PERMANENT_SESSION_LIFETIME": timedelta(days=30),
    # The page that asked for a login waits in the session, not in the login page's address.
    "USE_SESSION_FOR_NEXT": True,
    "WTF_CSRF_TIME_LIMIT": None,
    # Forms stay small; only the verify page takes a file, up to VERIFY_MAX_BYTES.
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    # Each upload is checked in a process of its own with this budget, then refused as
    # "could not be checked"; a Duet agreement has one form field, its seal, and needs
    # about 0.05 s of CPU and 70 MB after the process has started (docs/performance.md).
    "VERIFY_MAX_FIELDS": 8,
    "VERIFY_CPU_SECONDS": 0.5,
    "VERIFY_MEMORY_BYTES": 200 * 1024 * 1024,
    "VERIFY_TIMEOUT_SECONDS": 10,
    "SIGNATURE_MAX_BYTES": 300 * 1024,
    # Drawings are decoded up to this many pixels: the pad (640 x 180 at most) at 4x is 1.8 M.
    "SIGNATURE_MAX_PIXELS": 4_000_000,
    # Share of a drawing's pixels that must carry ink: a tap or a speck is not a signature.
    "SIGNATURE_MIN_INK": 0.001,
    "REVIEW_AFTER_DAYS": 28,
    "RATELIMIT_HEADERS_ENABLED": True,
    "RATELIMIT_LOGIN": "10 per minute;50 per hour",
    "RATELIMIT_REGISTER": "5 per minute;30 per hour",
    "RATELIMIT_JOIN": "10 per minute;50 per hour",
    "RATELIMIT_RESET": "5 per minute;20 per hour",
    "RATELIMIT_SIGN": "5 per minute;30 per hour",
    "RATELIMIT_VERIFY": "20 per minute",
    # Per account too, so that rotating addresses buys no more tries (docs/security.md).
    "RATELIMIT_LOGIN_ACCOUNT": "10 per 15 minutes;100 per day",  # by the email typed
    "RATELIMIT_RESET_ACCOUNT": "3 per hour;10 per day",  # by the email typed: no mail flood
    # One budget for every form that asks a signed-in person's password: signing, a new
    # password, leaving the couple, deleting the account.
    "RATELIMIT_PASSWORD_CHECKS": "10 per hour;20 per day",
    # Wrong join codes for the whole site, however many addresses guess; invite links
    # still work when it is reached. The odds it leaves are in docs/security.md.
    "RATELIMIT_JOIN_FAILURES": "30 per hour",
    # argon2id cost; tests lower it, production keeps argon2-cffi's recommended profile.
    "ARGON2_TIME_COST": 3,
    "ARGON2_MEMORY_COST": 64 * 1024,
    "PASSWORD_MIN_LENGTH": 10,
    "PASSWORD_MAX_LENGTH": 256,
    "PASSWORD_RESET_VALID_FOR": timedelta(hours=1),
    "INVITE_VALID_FOR": timedelta(days=7),
    # Seen-at times are written at most this often, so a page view is not a write.
    "DEVICE_TOUCH_INTERVAL": timedelta(minutes=5),
    # The outbox (app/outbox): rows claimed at once; seconds a claim holds them (more than
    # OUTBOX_BATCH x MAIL_TIMEOUT, so a slow batch is never claimed twice); the first retry's
    # delay, doubling up to the most; tries before giving up; how often a waiting worker
    # looks (a notification wakes its own process's thread at once) and checks review
    # dates; days sent rows are kept.
    "OUTBOX_BATCH": 20,
    "OUTBOX_LEASE_SECONDS": 300,
    "OUTBOX_RETRY_SECONDS": 30,
    "OUTBOX_RETRY_MAX_SECONDS": 3600,
    "OUTBOX_MAX_ATTEMPTS": 12,
    "OUTBOX_POLL_SECONDS": 5,
    "OUTBOX_PERIODIC_SECONDS": 3600,
    "OUTBOX_KEEP_DAYS": 30,
    # Web Push: how long a push service keeps a push for a phone that is off (seconds), how
    # long it may take to answer, and the only services Duet posts to (a host or its
    # subdomains): those of Chrome, Firefox, Safari and Edge.
    "PUSH_TTL_SECONDS": 12 * 3600,
    "PUSH_TIMEOUT": 10,
    "PUSH_SERVICE_HOSTS": (
        "fcm.googleapis.com",
        "push.services.mozilla.com",
        "push.apple.com",
        "notify.windows.com",
    ),
    "ANSWER_MAX_LENGTH": 5000,
    "CUSTOM_TITLE_MAX_LENGTH": 120,
    "CUSTOM_BODY_MAX_LENGTH": 2000,
}
