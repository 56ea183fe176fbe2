"""Benchmark of the live channel (GET /live answering 304 on the fast path), in one run:

1. closed loop (wrk): requests per second of the 304 for signed-in partners whose pages hold
   a valid poll token and the current ETag, against a minimal Flask "hello world" served by
   the same gunicorn configuration (target: >= 70%); the server's CPU per request of each;
2. open loop (bench/loadgen.py): 2,000 partners (1,000 couples) each polling every 2 s as
   app/static/js/live.js does, i.e. a constant ~1,000 requests/s, while 1% of them agree to
   a clause and withdraw again every few seconds; p50/p95/p99 latency from the scheduled
   time and failures (target: p95 < 100 ms, none failed);

on SQLite, on PostgreSQL, and on PostgreSQL with Redis (REDIS_URL: the fast path reads the
revision from Redis). It seeds a fresh database of its own, starts and stops gunicorn
itself, and removes what it made. Run from the repository root:

    pip install -e ".[bench]" && apt-get install -y wrk
    python bench/poll.py                      # all three, about 4.5 minutes
    python bench/poll.py --databases sqlite   # one of them
    python bench/poll.py --profile /tmp/prof  # also py-spy on the workers, per database

Never run by pytest: it lives outside tests/. See docs/performance.md for the figures.
"""

import argparse
import http.client
import json
import os
import platform
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from itsdangerous import TimestampSigner

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
HOST = "127.0.0.1"
USER_AGENT = "duet-bench/1.0"
SECRET_KEY = "duet-bench-secret-key-not-for-production"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/duet_bench"
POLL = "/live"  # app.live.PATH
# The Redis database the bench empties and uses for the postgres+redis configuration.
REDIS_URL = "redis://127.0.0.1:6379/15"
TITLES = {"sqlite": "SQLite", "postgres": "PostgreSQL", "postgres+redis": "PostgreSQL+Redis"}

sys.path.insert(0, str(ROOT))


# --- processes -----------------------------------------------------------------------------


class Server:
    """gunicorn in a process group of its own, stopped by that group's id. Ready once every
    worker has loaded the app (a post_worker_init hook leaves a file per worker)."""

    def __init__(self, args, app_spec: str, cwd: Path, env: dict, work: Path, name: str):
        self.port = _free_port()
        self.log = work / f"gunicorn-{name}.log"
        ready = work / f"ready-{name}"
        ready.mkdir()
        config = work / f"gunicorn-{name}.conf.py"
        config.write_text(GUNICORN_CONF % str(ready))
        command = [
            str(Path(sys.executable).with_name("gunicorn")),
            "--config",
            str(config),
            "--bind",
            f"{HOST}:{self.port}",
            "--workers",
            str(args.workers),
            "--worker-class",
            args.worker_class,
            "--threads",
            str(args.threads),
            "--backlog",
            "4096",
            "--log-level",
            "warning",
            "--error-logfile",
            str(self.log),
            app_spec,
        ]
        self.process = subprocess.Popen(
            command, cwd=cwd, env=env, start_new_session=True, stdout=subprocess.DEVNULL
        )
        _RUNNING.append(self)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited at start:\n{self.log.read_text()}")
            if len(list(ready.iterdir())) >= args.workers:
                connection = http.client.HTTPConnection(HOST, self.port, timeout=10)
                connection.request("GET", "/")
                connection.getresponse().read()
                return
            time.sleep(0.2)
        raise SystemExit("gunicorn's workers were not all up within 60 s")

    def cpu_seconds(self) -> float:
        """User + system CPU of the master and its workers (which live as long as it does)."""
        pids = [self.process.pid]
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        pids += [int(pid) for pid in children.read_text().split()]
        return sum(_process_cpu(pid) for pid in pids)

    def stop(self) -> None:
        if self in _RUNNING:
            _RUNNING.remove(self)
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


_RUNNING: list[Server] = []

GUNICORN_CONF = """
import pathlib


def post_worker_init(worker):
    pathlib.Path(%r, str(worker.pid)).touch()
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


_TICK = os.sysconf("SC_CLK_TCK")


def _process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _system_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(values[:8])
    idle = values[3] + values[4]
    return (total - idle) / _TICK, total / _TICK


DATABASES = {"postgres": "postgres", "redis-server": "redis"}  # process name: label


def _database_cpu() -> dict[int, tuple[str, float]]:
    """CPU seconds of each PostgreSQL and Redis server process (the bench's backends among
    them), by process id."""
    seconds = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                label = DATABASES.get((entry / "comm").read_text().strip())
                if label is not None:
                    seconds[int(entry.name)] = (label, _process_cpu(int(entry.name)))
            except OSError:
                continue
    return seconds


class CpuMeter:
    """Where the machine's CPU went since it was made, in cores: gunicorn, PostgreSQL, Redis,
    the load tools (finished children: wrk, loadgen) and every other process on the machine,
    which on a shared machine (a test suite, a browser) makes the figures low. `seconds`
    holds the same in CPU seconds."""

    def __init__(self):
        self.start = self._sample()

    @staticmethod
    def _sample() -> dict:
        busy, total = _system_busy()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return {
            "busy": busy,
            "total": total,
            "gunicorn": sum(server.cpu_seconds() for server in _RUNNING),
            "databases": _database_cpu(),
            "client": children.ru_utime + children.ru_stime,
        }

    def read(self) -> dict:
        end = self._sample()
        delta = {key: end[key] - self.start[key] for key in end if key != "databases"}
        # Backends that ended meanwhile (the seeding's) take their CPU with them: count
        # the processes alive at the end, from zero for those that started meanwhile.
        before = self.start["databases"]
        for label in DATABASES.values():
            spent = sum(
                cpu - before.get(pid, (label, 0.0))[1]
                for pid, (named, cpu) in end["databases"].items()
                if named == label
            )
            delta[label] = max(0.0, spent)
        cores = os.cpu_count() or 1
        scale = cores / delta["total"] if delta["total"] else 0.0
        ours = delta["gunicorn"] + delta["postgres"] + delta["redis"] + delta["client"]
        delta["others"] = max(0.0, delta["busy"] - ours)
        names = ("gunicorn", "postgres", "redis", "client", "others", "busy")
        return {
            **{name: delta[name] * scale for name in names},
            "seconds": {name: delta[name] for name in names},
        }


# --- database ------------------------------------------------------------------------------


def _postgres_admin(url: str):
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.database in (None, "", "test", "postgres", "template0", "template1"):
        raise SystemExit(f"refusing to use database {parsed.database!r} for the bench")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    return admin, parsed.database


def reset_postgres(url: str, create: bool = True) -> None:
    from sqlalchemy import text

    admin, name = _postgres_admin(url)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def reset_redis(url: str) -> None:
    """Empty the bench's own Redis database (never database 0, which others may use)."""
    import redis

    client = redis.Redis.from_url(url)
    if client.connection_pool.connection_kwargs.get("db", 0) == 0:
        raise SystemExit(f"refusing to empty Redis database 0 ({url}) for the bench")
    client.flushdb()
    client.close()


def seed(app, couples: int) -> list[dict]:
    """The schema, then couples of two partners, each with a drafted agreement
    (the "basic" starter) and one signed-in device; returns each partner's session cookie
    and the ids a poll token names (device, person, couple)."""
    from argon2 import PasswordHasher
    from flask import session
    from flask_login import login_user

    from app.accounts.models import User
    from app.accounts.services import digest, start_session
    from app.couple.models import Couple, Membership
    from app.db import writing
    from app.drafting.services import start_agreement
    from app.extensions import db
    from app.live import DEVICE

    password_hash = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(
        "bench password, never used"
    )
    with app.app_context():
        db.create_all()  # from the models, as the tests do (migrations may lag a model change)
    context = app.test_request_context(
        "/", environ_base={"REMOTE_ADDR": HOST}, headers={"User-Agent": USER_AGENT}
    )
    with context, writing():
        serializer = app.session_interface.get_signing_serializer(app)
        library = app.extensions["duet.content"]
        made = []
        for number in range(couples):
            pair = [
                User(
                    email=f"partner-{number}-{seat}@bench.invalid",
                    display_name=f"Partner {number}{'ab'[seat - 1]}",
                    password_hash=password_hash,
                    locale="en",
                )
                for seat in (1, 2)
            ]
            couple = Couple()
            db.session.add_all([*pair, couple])
            db.session.flush()
            db.session.add_all(
                Membership(user_id=user.id, couple_id=couple.id, seat=seat)
                for seat, user in enumerate(pair, start=1)
            )
            tokens = [start_session(user, USER_AGENT) for user in pair]
            agreement = start_agreement(couple, pair[0], "en", "basic", library)
            made.append((agreement, pair, tokens))
        db.session.commit()
        partners = []
        for number, (agreement, pair, tokens) in enumerate(made):
            for user, token in zip(pair, tokens, strict=True):
                # The session a real login leaves, made by Flask-Login itself in this
                # request's context (the bench's address and browser).
                session.clear()
                user.session_token = token
                login_user(user)
                session[DEVICE] = digest(token)  # as sign-in does (app/accounts/views.py)
                session.permanent = True
                partners.append(
                    {
                        "cookie": serializer.dumps(dict(session)),
                        "couple": number,
                        "couple_id": agreement.couple_id,
                        "user_id": user.id,
                        "device_id": user.current_device.id,
                    }
                )
        db.session.remove()
    return partners


class _IssuedAt(TimestampSigner):
    """itsdangerous' timestamp signer with the time of issue set by the bench, to make
    tokens of a given age."""

    at = 0.0

    def get_timestamp(self) -> int:
        return int(self.at)


def hand_out(app, partners: list[dict], spread: float = 0.0) -> None:
    """Give each partner what its page holds after an answer of the full path: the current
    ETag, and a poll token made as `app.live.state` makes it (the app's key and salt, and
    with Redis the person's epoch). With `spread`, the tokens' ages are spread over that many
    seconds, as on pages that have been open a while: each page then goes to the full path
    for a new token once its token is five minutes old (2,000 / 300 s = ~7 a second)."""
    from itsdangerous import URLSafeTimedSerializer
    from sqlalchemy import select

    from app import live
    from app.couple.models import Couple
    from app.extensions import db

    rng = random.Random(11)
    now = time.time()
    with app.app_context():
        revisions = {
            id_: revision
            for id_, revision in db.session.execute(select(Couple.id, Couple.revision))
        }
        db.session.remove()
        store = app.extensions.get("duet.live")  # the RedisStore, with REDIS_URL
        serializer = URLSafeTimedSerializer(app.secret_key, salt=live.TOKEN_SALT, signer=_IssuedAt)
        for partner in partners:
            if "epoch" not in partner:
                partner["epoch"] = store.epoch(partner["user_id"]) if store is not None else ""
            _IssuedAt.at = now - rng.uniform(0, spread)
            partner["token"] = serializer.dumps(
                [partner["device_id"], partner["user_id"], partner["couple_id"], partner["epoch"]]
            )
            partner["etag"] = live.etag_of(partner["couple_id"], revisions[partner["couple_id"]])


def spread_last_seen(app) -> None:
    """Last-seen times spread over one touch interval, as in steady use: each device's
    poll then writes its last-seen time once per interval, ~2,000 / 300 s = 7 writes/s."""
    from sqlalchemy import select, update

    from app.accounts.models import Device
    from app.db import utcnow, writing
    from app.extensions import db

    rng = random.Random(7)
    with app.app_context(), writing():
        interval = app.config["DEVICE_TOUCH_INTERVAL"].total_seconds()
        now = utcnow()
        rows = [
            {"id": device_id, "last_seen_at": now - timedelta(seconds=rng.uniform(0, interval))}
            for device_id in db.session.scalars(select(Device.id))
        ]
        db.session.execute(update(Device), rows)
        db.session.commit()
        db.session.remove()


def refresh_last_seen(app) -> None:
    """Every device seen just now, so a closed-loop run measures the pure 304 path."""
    from sqlalchemy import update

    from app.accounts.models import Device
    from app.db import utcnow, writing
    from app.extensions import db

    with app.app_context(), writing():
        db.session.execute(update(Device).values(last_seen_at=utcnow()))
        db.session.commit()
        db.session.remove()


def _poll_headers(partner: dict) -> dict:
    return {
        "Cookie": f"session={partner['cookie']}",
        "User-Agent": USER_AGENT,
        "If-None-Match": f'"{partner["etag"]}"',
        "X-Live-Token": partner["token"],
    }


def statements_per_poll(app, partner: dict) -> list[str]:
    """The SQL statements and Redis commands of one warm 304 on the fast path, counted
    in-process (a WSGI call through the app as gunicorn serves it, fast path in front). The
    fast path reads on the driver's own connection, past SQLAlchemy's events, so statements
    are seen at the driver: sqlite3's trace callback, psycopg's Cursor.execute."""
    import psycopg
    from sqlalchemy import event
    from sqlalchemy.pool import Pool
    from werkzeug.test import Client

    from app.extensions import db

    statements: list[str] = []

    def record(statement) -> None:
        statements.append(" ".join(str(statement).split())[:110])

    traced = []

    def trace(dbapi_connection, _record) -> None:
        if hasattr(dbapi_connection, "set_trace_callback"):  # sqlite3
            dbapi_connection.set_trace_callback(record)
            traced.append(dbapi_connection)

    execute = psycopg.Cursor.execute

    def counted(cursor, query, *args, **kwargs):
        record(query)
        return execute(cursor, query, *args, **kwargs)

    fast = app.wsgi_app
    store = fast.store
    if store is not None:
        sent = store.client.execute_command

        def command(*args, **options):
            statements.append("redis: " + " ".join(str(arg) for arg in args)[:100])
            return sent(*args, **options)

    client = Client(fast)
    headers = _poll_headers(partner)
    event.listen(Pool, "connect", trace)
    with app.app_context():
        db.engine.dispose()  # every connection made afresh, traced from its start
    fast.engine.dispose()
    client.get(POLL, headers=headers)  # warm: connections made, statement prepared
    client.get(POLL, headers=headers)
    statements.clear()
    psycopg.Cursor.execute = counted
    if store is not None:
        store.client.execute_command = command
    try:
        response = client.get(POLL, headers=headers, environ_base={"REMOTE_ADDR": HOST})
    finally:
        psycopg.Cursor.execute = execute
        event.remove(Pool, "connect", trace)
        for connection in traced:
            connection.set_trace_callback(None)
        if store is not None:
            del store.client.execute_command
    if response.status_code != 304 or "X-Live-Token" in response.headers:
        raise SystemExit(f"in-process poll: {response.status_code}, not 304 from the fast path")
    return statements


def verify_live(app, server: Server, partner: dict) -> None:
    """Real requests as a page makes them. The first poll (no token) goes to the full path:
    200 with the ETag the bench holds and a token, and the session is not renewed. Then both
    the bench's token and the server's get a 304 from the fast path (no new token in it)."""
    headers = _poll_headers(partner)
    first = _get(server, {k: v for k, v in headers.items() if k in ("Cookie", "User-Agent")})
    etag, token = first.getheader("ETag"), first.getheader("X-Live-Token")
    if first.status != 200 or etag != headers["If-None-Match"] or not token:
        raise SystemExit(f"live check: first poll {first.status} {etag} {first.body[:200]!r}")
    if first.getheader("Set-Cookie"):
        raise SystemExit("live check: the poll renewed the session cookie")
    for label, sent in (("bench", headers["X-Live-Token"]), ("server", token)):
        again = _get(server, {**headers, "X-Live-Token": sent})
        if again.status != 304 or again.getheader("X-Live-Token"):
            path = "full path" if again.getheader("X-Live-Token") else "fast path"
            raise SystemExit(f"live check: the {label}'s token got {again.status} ({path})")


def _get(server: Server, headers: dict) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection(HOST, server.port, timeout=10)
    connection.request("GET", POLL, headers=headers)
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


WRK_SCRIPT = """
local cookies = {%(cookies)s}
local tokens = {%(tokens)s}
local etags = {%(etags)s}
local path, expected, agent = "%(path)s", %(expected)d, "%(agent)s"
local i = 0
unexpected = 0
renewed = 0
request = function()
  i = i %% #cookies + 1
  return wrk.format("GET", path, {
    ["Cookie"] = "session=" .. cookies[i],
    ["If-None-Match"] = '"' .. etags[i] .. '"',
    ["X-Live-Token"] = tokens[i],
    ["User-Agent"] = agent,
  })
end
response = function(status, headers, body)
  if status ~= expected then unexpected = unexpected + 1 end
  -- Only the full path hands out a token: a 304 with one did not come from the fast path.
  if headers["X-Live-Token"] then renewed = renewed + 1 end
end
local threads = {}
setup = function(thread) table.insert(threads, thread) end
done = function(summary, latency, requests)
  local bad, full = 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("unexpected")
    full = full + thread:get("renewed")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %%d, "seconds": %%f, "unexpected": %%d, "full_path": %%d, ' ..
    '"socket_errors": %%d, "p50_ms": %%f, "p99_ms": %%f}\\n',
    summary.requests, summary.duration / 1e6, bad, full,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000))
end
"""


def write_wrk_script(path: Path, partners: list[dict], url_path: str, expected: int) -> Path:
    def lua(key: str) -> str:
        return ",".join(f'"{partner[key]}"' for partner in partners)

    path.write_text(
        WRK_SCRIPT
        % {
            "cookies": lua("cookie"),
            "tokens": lua("token"),
            "etags": lua("etag"),
            "path": url_path,
            "expected": expected,
            "agent": USER_AGENT,
        }
    )
    return path


def wrk(args, server: Server, script: Path, url_path: str, seconds: int) -> dict:
    command = [
        "wrk",
        "--threads",
        "1",
        "--connections",
        str(args.connections),
        "--duration",
        f"{seconds}s",
        "--timeout",
        "10s",
        "--script",
        str(script),
        f"http://{HOST}:{server.port}{url_path}",
    ]
    meter, served = CpuMeter(), server.cpu_seconds()
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("BENCH "))
    result = json.loads(line.removeprefix("BENCH "))
    result["rps"] = result["requests"] / result["seconds"]
    result["cpu"] = meter.read()
    result["server_cpu_s"] = server.cpu_seconds() - served
    return result


def wait_for_quiet(limit: float) -> None:
    """Wait (up to `limit` s) until the machine is idle: another job's CPU skews every figure."""
    deadline = time.monotonic() + limit
    while True:
        meter = CpuMeter()
        time.sleep(1)
        busy = meter.read()["busy"]
        if busy < 0.15:
            return
        if time.monotonic() > deadline:
            print(f"  warning: the machine is busy ({busy:.2f} cores) with other work", flush=True)
            return


def closed_loop(args, pairs: dict) -> dict:
    """wrk on each (server, script, path) in turn, round after round, so that the noise of a
    shared virtual machine (CPU speed moves by tens of percent from minute to minute) falls
    on the baseline and on the poll alike; figures are totals over the rounds. `script` is
    called before each run: it writes the Lua script, with poll tokens made just then (they
    live five minutes)."""
    for server, script, path in pairs.values():
        wrk(args, server, script(), path, args.warmup)
    rounds = {name: [] for name in pairs}
    for _ in range(args.rounds):
        for name, (server, script, path) in pairs.items():
            rounds[name].append(wrk(args, server, script(), path, args.wrk_seconds))
    results = {}
    for name, runs in rounds.items():
        requests = sum(run["requests"] for run in runs)
        seconds = sum(run["seconds"] for run in runs)
        unexpected = sum(run["unexpected"] for run in runs)
        full_path = sum(run["full_path"] for run in runs)
        socket_errors = sum(run["socket_errors"] for run in runs)
        if unexpected or full_path or socket_errors:
            print(
                f"  warning: {name}: {unexpected} unexpected statuses, {full_path} answers "
                f"from the full path, {socket_errors} socket errors",
                flush=True,
            )
        database_s = sum(
            run["cpu"]["seconds"]["postgres"] + run["cpu"]["seconds"]["redis"] for run in runs
        )
        results[name] = {
            "requests": requests,
            "seconds": seconds,
            "rps": requests / seconds,
            "rounds_rps": [run["rps"] for run in runs],
            "p50_ms": sorted(run["p50_ms"] for run in runs)[len(runs) // 2],
            "p99_ms": sorted(run["p99_ms"] for run in runs)[len(runs) // 2],
            "unexpected": unexpected,
            "full_path": full_path,
            "socket_errors": socket_errors,
            "others_cores": max(run["cpu"]["others"] for run in runs),
            "cpu_ms_per_request": 1000 * sum(run["server_cpu_s"] for run in runs) / requests,
            # PostgreSQL's and Redis's own CPU for the same requests (zero on SQLite).
            "database_ms_per_request": 1000 * database_s / requests,
            "cpu": [run["cpu"] for run in runs],
        }
    return results


def profile(args, server: Server, script: Path, name: str) -> list[tuple[float, str]]:
    """py-spy on every worker while wrk drives the 304 once more (not counted in the figures):
    the raw profile (one line per stack) in --profile DIR, and the functions most often on
    the stack of a worker holding the GIL, by share of its samples."""
    output = args.profile / f"{name}.txt"
    spy = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("py-spy")),
            "record",
            "--pid",
            str(server.process.pid),
            "--subprocesses",
            "--gil",
            "--rate",
            "200",
            "--format",
            "raw",
            "--duration",
            str(args.wrk_seconds),
            "--output",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)  # attached to every worker
    wrk(args, server, script, POLL, args.wrk_seconds)
    spy.wait(timeout=60)
    return _frames(output)


def _frames(raw: Path, top: int = 24) -> list[tuple[float, str]]:
    """Inclusive shares of the samples, per function, leaving out gunicorn's own loop (the
    frames on nearly every stack)."""
    samples, total = {}, 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        labels = set()
        for frame in stack.split(";"):
            if frame.startswith("process "):  # gunicorn's master, then the worker
                continue
            function, _, where = frame.partition(" (")
            where = where.split("site-packages/")[-1].split(str(ROOT) + "/")[-1]
            labels.add(f"{function} ({where.rsplit(':', 1)[0]})")
        for label in labels:
            samples[label] = samples.get(label, 0) + int(count)
    shares = sorted(((count / total, label) for label, count in samples.items()), reverse=True)
    return [(share, label) for share, label in shares if share < 0.9][:top]


# --- open loop -----------------------------------------------------------------------------


def open_loop(args, server: Server, partners: list[dict], work: Path) -> dict:
    by_couple = {}
    for index, partner in enumerate(partners):
        by_couple.setdefault(partner["couple"], index)
    # 1% of the partners change something: one partner each in as many different couples.
    count = max(1, round(len(partners) * args.changers))
    step = max(1, len(by_couple) // count)
    changers = [by_couple[couple] for couple in sorted(by_couple)[::step][:count]]
    spec = {
        "host": HOST,
        "port": server.port,
        "user_agent": USER_AGENT,
        "timeout": 10.0,
        "interval": args.interval,
        "warmup": args.warmup,
        "duration": args.duration,
        "seed": 42,
        "max_in_flight": 8000,
        "change_every": [2.0, 4.0],
        "changers": changers,
        # What each page holds: its cookie, the ETag and a poll token (app/static/js/live.js).
        "partners": [
            {"cookie": p["cookie"], "etag": p["etag"], "token": p["token"]} for p in partners
        ],
    }
    path = work / "loadgen.json"
    path.write_text(json.dumps(spec))
    meter, served = CpuMeter(), server.cpu_seconds()
    output = subprocess.run(
        [sys.executable, str(BENCH / "loadgen.py"), str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = json.loads(output)
    result["partners"] = len(partners)
    result["changers"] = len(changers)
    result["cpu"] = meter.read()
    result["server_cpu_s"] = server.cpu_seconds() - served
    return result


# --- one database --------------------------------------------------------------------------


def bench_database(args, name: str, work: Path, hello: tuple) -> dict:
    instance = work / f"instance-{name.replace('+', '-')}"
    instance.mkdir()
    if name == "sqlite":
        url = f"sqlite:///{instance / 'bench.sqlite3'}"
    else:
        url = args.postgres_url
        reset_postgres(url)
    settings = {"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY, "DUET_INSTANCE_PATH": str(instance)}
    os.environ.pop("REDIS_URL", None)
    if name == "postgres+redis":
        reset_redis(args.redis_url)
        # Rate limits stay in each worker's memory, as in the other two configurations.
        settings |= {"REDIS_URL": args.redis_url, "RATELIMIT_STORAGE_URI": "memory://"}
    os.environ.update(settings)
    from app import create_app, live
    from app.extensions import db

    app = create_app()
    server = None
    try:
        began = time.monotonic()
        partners = seed(app, args.couples)
        hand_out(app, partners)
        print(f"  seeded {len(partners)} partners in {time.monotonic() - began:.1f} s", flush=True)
        statements = statements_per_poll(app, partners[0])
        server = Server(args, "app:create_app()", ROOT, {**os.environ}, work, name)
        verify_live(app, server, partners[1])
        refresh_last_seen(app)
        wait_for_quiet(args.wait_quiet)
        script = work / f"poll-{name}.lua"

        def poll_script() -> Path:
            hand_out(app, partners)  # fresh tokens for each wrk run
            return write_wrk_script(script, partners, POLL, 304)

        closed = closed_loop(args, {"hello": hello, "poll": (server, poll_script, POLL)})
        print(
            f"  closed loop: poll {closed['poll']['rps']:.0f} req/s, "
            f"hello {closed['hello']['rps']:.0f} req/s",
            flush=True,
        )
        frames = profile(args, server, poll_script(), name) if args.profile else []
        opened = []
        extra = args.extra_partners
        if extra == "auto":
            # Also a load the server can carry: 60% of its closed-loop capacity.
            fits = int(0.6 * closed["poll"]["rps"] * args.interval) // 2 * 2
            extra = [fits] if 2 <= fits < len(partners) else []
        for number, count in enumerate([len(partners), *extra]):
            if number:
                # A fresh server: an overloaded one still works off its queue of dead requests.
                server.stop()
                server = Server(
                    args, "app:create_app()", ROOT, {**os.environ}, work, f"{name}{number}"
                )
            spread_last_seen(app)
            hand_out(app, partners, spread=live.TOKEN_MAX_AGE)
            wait_for_quiet(args.wait_quiet)
            run = open_loop(args, server, partners[:count], work)
            opened.append(run)
            p95 = run["kinds"].get("poll", {}).get("p95_ms", float("nan"))
            print(f"  open loop, {count} partners: poll p95 {p95:.1f} ms", flush=True)
    finally:
        if server is not None:
            server.stop()
        with app.app_context():
            db.engine.dispose()
        if name != "sqlite" and not args.keep:
            reset_postgres(url, create=False)
        if name == "postgres+redis" and not args.keep:
            reset_redis(args.redis_url)
    return {"closed": closed, "open": opened, "statements": statements, "profile": frames}


# --- report --------------------------------------------------------------------------------


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _code_state() -> str:
    """The commit measured, and whether app/ or templates/ had changes not yet committed."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "app", "templates"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    note = f", plus {len(dirty)} uncommitted files in app/ and templates/" if dirty else ""
    return f"{commit[:70]}{note}"


def _ms(value) -> str:
    if value != value:
        return "     n/a"
    return f"{value:8.1f}" if value != float("inf") else "  failed"


def report(args, results: dict) -> None:
    import gunicorn

    print()
    print("Duet live channel benchmark")
    print(
        f"machine: {_cpu_model()}, {os.cpu_count()} cores shared by gunicorn, the database and "
        f"the load generator; Python {platform.python_version()}; gunicorn {gunicorn.__version__}"
        f" --workers {args.workers} --worker-class {args.worker_class} --threads {args.threads}"
    )
    print(f"code: {_code_state()}")
    print()
    print(
        f"Closed loop: wrk, 1 thread, {args.connections} connections; {args.rounds} rounds of "
        f"{args.wrk_seconds} s alternating hello world and GET {POLL} (after {args.warmup} s "
        "warm-up each); the poll rotates over all partners with a valid token and the current "
        "ETag; CPU ms/req: gunicorn's; +db: PostgreSQL's and Redis's for the same requests"
    )
    print(
        f"{'':36}{'req/s':>7}{'p50 ms':>8}{'p99 ms':>8}{'CPU ms/req':>12}{'+db':>6}{'ratio':>7}"
        "  target: 304 >= 70% of hello world"
    )
    for name, result in results.items():
        poll, hello = result["closed"]["poll"], result["closed"]["hello"]
        ratio = poll["rps"] / hello["rps"]
        verdict = "met" if ratio >= 0.70 else "MISSED"
        for label, row in (
            (f"hello world ({TITLES[name]} run)", hello),
            ("304, " + TITLES[name], poll),
        ):
            print(
                f"{label:36}{row['rps']:7.0f}{row['p50_ms']:8.1f}{row['p99_ms']:8.1f}"
                f"{row['cpu_ms_per_request']:12.2f}{row['database_ms_per_request']:6.2f}",
                end="" if row is poll else "\n",
            )
        print(f"{ratio:7.1%}  {verdict}, {(ratio - 0.70) * 100:+.1f} points")
        rounds = ", ".join(f"{value:.0f}" for value in poll["rounds_rps"])
        hello_rounds = ", ".join(f"{value:.0f}" for value in hello["rounds_rps"])
        print(f"{'':36}req/s by round: 304 {rounds}; hello world {hello_rounds}")
        print(
            f"{'':36}not 304: {poll['unexpected']} of {poll['requests']} "
            f"({poll['unexpected'] / poll['requests']:.2%}); answered by the full path: "
            f"{poll['full_path']} ({poll['full_path'] / poll['requests']:.2%}); "
            f"socket errors {poll['socket_errors']}"
        )
        others = max(poll["others_cores"], hello["others_cores"])
        if others > 0.1:
            print(f"{'':36}warning: other processes took up to {others:.2f} cores in a round")
    print()
    print(
        f"Open loop: partners each polling every {args.interval:g} s as live.js does (2,000 "
        f"partners: ~{2000 / args.interval:.0f} req/s scheduled; token and ETag kept from each "
        f"answer, token ages spread over their 5 minutes; a 200 followed by GET /agreement/live),"
        f" {args.changers:.0%} of them changing every 2-4 s; {args.duration} s measured after "
        f"{args.warmup} s warm-up; latency from the scheduled time; failed = no answer within "
        "10 s (counted as infinitely slow)"
    )
    print(
        f"{'':17}{'partners':>8} {'kind':7}{'count':>7}{'ok/s':>6}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'p99 ms':>9}{'max ms':>9}  statuses (0: failed)"
    )
    for name, result in results.items():
        for run in result["open"]:
            first = True
            for kind in ("poll", "live", "page", "change"):
                stats = run["kinds"].get(kind)
                if not stats:
                    continue
                statuses = ", ".join(
                    f"{code}: {count}" for code, count in sorted(run["statuses"][kind].items())
                )
                label = f"{TITLES[name]:17}{run['partners']:8d}" if first else " " * 25
                first = False
                print(
                    f"{label} {kind:7}{stats['count']:7d}{stats['ok'] / run['window_s']:6.0f}"
                    f"{_ms(stats['p50_ms'])} {_ms(stats['p95_ms'])} {_ms(stats['p99_ms'])} "
                    f"{_ms(stats['max_ms'])}  {statuses}"
                )
    print()
    for name, result in results.items():
        for run in result["open"]:
            p95 = run["kinds"].get("poll", {}).get("p95_ms", float("nan"))
            errors = sum(run["errors"].values())
            verdict = "met" if p95 < 100 and not errors else "MISSED"
            if p95 == float("inf"):
                margin = "over 5% of polls failed"
            elif p95 < 100:
                margin = f"{100 - p95:.1f} ms to spare"
            else:
                margin = f"over by {p95 - 100:.1f} ms"
            print(
                f"{TITLES[name]}, {run['partners']} partners: poll p95 {_ms(p95).strip()} ms "
                f"({margin}), failed requests {errors} {run['errors'] or ''}; "
                f"target p95 < 100 ms and none failed: {verdict}"
            )
            cpu = run["cpu"]
            polls = run["kinds"].get("poll", {}).get("count", 0)
            print(
                f"  {run['changers']} changers; polls answered by the full path "
                f"{run['full_path']} of {polls} ({run['full_path'] / max(polls, 1):.1%}); "
                f"gunicorn CPU {1000 * run['server_cpu_s'] / max(run['answered'], 1):.2f} ms "
                f"per request (all kinds)"
            )
            print(
                f"  CPU in cores of {os.cpu_count()}: gunicorn {cpu['gunicorn']:.2f}, PostgreSQL "
                f"{cpu['postgres']:.2f}, Redis {cpu['redis']:.2f}, load generator "
                f"{cpu['client']:.2f}, other processes {cpu['others']:.2f}; load generator lag "
                f"p99 {run['lag_p99_ms']:.1f} ms, peak in flight {run['peak_in_flight']}"
            )
    for name, result in results.items():
        print(f"On the fast path, one 304 on {TITLES[name]}: {_statements(result['statements'])}")
        if args.verbose:
            for statement in result["statements"]:
                print(f"    {statement}")
    for name, result in results.items():
        if result["profile"]:
            print(
                f"Profile of the 304 on {TITLES[name]} (py-spy --gil, share of the workers' "
                f"samples with the function on the stack; raw: {args.profile / name}.txt):"
            )
            for share, label in result["profile"]:
                print(f"  {share:6.1%}  {label}")


def _statements(statements: list[str]) -> str:
    commands = sum(statement.startswith("redis: ") for statement in statements)
    return f"{len(statements) - commands} SQL statements, {commands} Redis commands"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default=",".join(TITLES), help=", ".join(TITLES))
    parser.add_argument(
        "--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", POSTGRES_URL)
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", REDIS_URL),
        help="for postgres+redis; the bench empties this database",
    )
    parser.add_argument("--couples", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--rounds", type=int, default=3, help="closed-loop rounds")
    parser.add_argument("--wrk-seconds", type=int, default=5, help="seconds per round")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--duration", type=int, default=20, help="open-loop measured seconds")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between polls")
    parser.add_argument("--changers", type=float, default=0.01, help="share of partners")
    parser.add_argument(
        "--wait-quiet", type=float, default=30, help="max seconds to wait for an idle machine"
    )
    parser.add_argument(
        "--extra-partners",
        type=lambda text: text if text == "auto" else [int(n) for n in text.split(",") if n],
        default="auto",
        help="also run the open loop with fewer partners: a list such as 400,600; '' for "
        "none; auto (the default): as many as take 60%% of the closed-loop capacity",
    )
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument(
        "--profile",
        type=Path,
        help="also profile the workers with py-spy during one more wrk run of the 304 per "
        "database, and keep the raw profiles in this folder",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the PostgreSQL database and the Redis keys"
    )
    parser.add_argument("--verbose", action="store_true", help="print the SQL of one poll")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    databases = args.databases.split(",")
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    if unknown := set(databases) - set(TITLES):
        raise SystemExit(f"unknown databases {sorted(unknown)}: choose from {', '.join(TITLES)}")

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="duet-bench-"))
    try:
        # The baseline runs all along; its wrk rounds alternate with the poll's.
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        hello_server = Server(args, "hello:app", BENCH, env, work, "hello")
        # The same headers as the poll's, of the same sizes.
        fake = {"cookie": "x" * 200, "token": "x" * 100, "etag": "1000-3"}
        hello_script = write_wrk_script(work / "hello.lua", [fake], "/", 200)
        hello = (hello_server, lambda: hello_script, "/")
        results = {}
        for name in databases:
            print(name, flush=True)
            results[name] = bench_database(args, name, work, hello)
        hello_server.stop()
        report(args, results)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    finally:
        for server in list(_RUNNING):
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
