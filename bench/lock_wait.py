"""Benchmark of the write lock: what one request's slow work makes other requests wait.

Two measurements, each against the code before the transaction boundary (commit 4f1a394,
where every POST began `BEGIN IMMEDIATE` on SQLite and held the database-wide write lock
through argon2 and through rendering and sealing the PDF) and against today's code, both
served by gunicorn in the same run, round after round in turn:

1. another couple's autosave during a finalisation: couple A has approved every clause and
   one partner has signed; couple B has a reflection prompt open. While A's second partner
   signs (POST /agreement/sign: the password check, then the PDF rendered and sealed), B
   autosaves every 20 ms. Reported: the autosave latency with nothing else running (the
   baseline, just before each finalisation), the latency of the autosaves that overlapped
   the finalisation, and the extra wait (overlapping minus the baseline's median);
   target: under 50 ms on SQLite. On SQLite a probe of the bench's own also asks for the
   write lock every 2 ms: how long it waits is the lock alone, without CPU or HTTP;
2. 50 simultaneous logins, right and wrong passwords in turn, released together by a
   barrier: errors (5xx, no answer, "database is locked" in the log) and latency;
   target: 0 errors.

Production settings: the argon2 cost of app/config.py, real CSRF tokens read from each
form, 4 sync workers. Only the rate limits are off (create_app({"RATELIMIT_ENABLED":
False})), since 50 logins from one address would meet them. Each version runs from an
export of its commit (`git archive`), with a database of its own made by that version's
migrations and services (bench/lock_wait_seed.py). Run from the repository root:

    pip install -e ".[bench]"
    python bench/lock_wait.py                         # SQLite and PostgreSQL, ~5 minutes
    python bench/lock_wait.py --database sqlite --rounds 8

Never run by pytest: it lives outside tests/. See docs/performance.md for the figures.
"""

import argparse
import base64
import http.client
import io
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode

from poll import reset_postgres

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OLD_COMMIT = "4f1a394"
HOST = "127.0.0.1"
USER_AGENT = "duet-bench/1.0"
SECRET_KEY = "duet-bench-secret-key-not-for-production"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/duet_lockwait"
PASSWORD = "a bench password, never used elsewhere"
APP_SPEC = "app:create_app({'RATELIMIT_ENABLED': False})"
TIMEOUT = 60
TARGET_WAIT_MS = 50
LOCKED = "(sqlite3.OperationalError) database is locked"
CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')


# --- the code under test -------------------------------------------------------------------


def export(commit: str, into: Path) -> tuple[Path, str]:
    """The commit's files (what `git archive` gives), and its short id and subject."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", commit],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    described = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%h %s", commit],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return into, described[:72]


class Version:
    """One version of Duet: its files, its database and instance folder, its server."""

    def __init__(self, label: str, commit: str, database: str, work: Path):
        self.label = label
        self.tree, self.described = export(commit, work / f"tree-{label}")
        self.instance = work / f"instance-{label}"
        self.instance.mkdir()
        if database == "sqlite":
            self.url = f"sqlite:///{self.instance / 'duet.sqlite3'}"
        else:
            self.url = f"{POSTGRES_URL}_{label}"
            reset_postgres(self.url)
        self.database = database
        self.env = {
            **{key: value for key, value in os.environ.items() if key != "PYTHONPATH"},
            "PYTHONPATH": str(self.tree),
            "PYTHONDONTWRITEBYTECODE": "1",
            "DATABASE_URL": self.url,
            "SECRET_KEY": SECRET_KEY,
            "DUET_INSTANCE_PATH": str(self.instance),
        }
        self.server = None
        self.writer = None
        self.seeded = {}

    def seed(self, couples: int, logins: int, work: Path) -> None:
        spec, out = work / f"seed-{self.label}.json", work / f"seeded-{self.label}.json"
        spec.write_text(json.dumps({"couples": couples, "logins": logins, "password": PASSWORD}))
        done = subprocess.run(
            [sys.executable, str(BENCH / "lock_wait_seed.py"), str(spec), str(out)],
            cwd=self.tree,
            env=self.env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise SystemExit(f"seeding {self.label} failed:\n{done.stderr[-3000:]}")
        self.seeded = json.loads(out.read_text())
        _check_tree(self.seeded["app"], self.tree)

    def close(self, keep: bool) -> None:
        if self.server is not None:
            self.server.stop()
        if self.database == "postgres" and not keep:
            reset_postgres(self.url, create=False)


def _check_tree(app_file: str, tree: Path) -> None:
    """The editable install maps `app` to the working tree: make sure the export won."""
    if not Path(app_file).resolve().is_relative_to(tree.resolve()):
        raise SystemExit(f"imported {app_file}, not the app of {tree}")


# --- gunicorn ------------------------------------------------------------------------------

GUNICORN_CONF = """
import pathlib
import sys


def post_worker_init(worker):
    pathlib.Path(%r, str(worker.pid)).write_text(sys.modules["app"].__file__)
"""


class Server:
    """gunicorn serving one version, in a process group of its own, stopped by that group's
    id. Ready once every worker has loaded the app: each leaves a file naming the `app`
    package it imported, so the bench knows it serves the version it means to."""

    def __init__(self, version: Version, workers: int, work: Path):
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            self.port = probe.getsockname()[1]
        self.log = work / f"gunicorn-{version.label}.log"
        ready = work / f"ready-{version.label}"
        ready.mkdir()
        config = work / f"gunicorn-{version.label}.conf.py"
        config.write_text(GUNICORN_CONF % str(ready))
        command = [
            str(Path(sys.executable).with_name("gunicorn")),
            *("--config", str(config), "--bind", f"{HOST}:{self.port}"),
            *("--chdir", str(version.tree), "--workers", str(workers)),
            *("--worker-class", "sync", "--log-level", "warning", "--no-control-socket"),
            # Tracebacks (and so "database is locked") go to the log the bench reads.
            *("--capture-output", "--error-logfile", str(self.log)),
            APP_SPEC,
        ]
        # Started in the tree: gunicorn puts the directory it starts in first on sys.path.
        self.process = subprocess.Popen(
            command,
            cwd=version.tree,
            env=version.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
        )
        try:
            self._wait_until_ready(ready, workers, version.tree)
        except BaseException:
            self.stop()
            raise

    def _wait_until_ready(self, ready: Path, workers: int, tree: Path) -> None:
        deadline = time.monotonic() + 90
        while len(list(ready.iterdir())) < workers:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited at start:\n{self.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise SystemExit("gunicorn's workers were not all up within 90 s")
            time.sleep(0.2)
        for loaded in ready.iterdir():
            _check_tree(loaded.read_text(), tree)

    def locked(self) -> int:
        """How many requests so far failed on SQLite's lock (the last line of each traceback)."""
        return self.log.read_text(errors="replace").count(LOCKED)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


# --- a browser -----------------------------------------------------------------------------


class Visitor:
    """One person's browser: the session cookie, the CSRF token of the last page it read,
    and a new connection per request (as sync workers close each one)."""

    def __init__(self, port: int):
        self.port = port
        self.cookie = None
        self.token = None

    def request(self, method: str, path: str, fields: dict | None = None):
        headers = {"User-Agent": USER_AGENT}
        if self.cookie:
            headers["Cookie"] = f"session={self.cookie}"
        body = None
        if fields is not None:
            body = urlencode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection(HOST, self.port, timeout=TIMEOUT)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            if name == "session":
                self.cookie = rest.split(";", 1)[0] or None
        if found := CSRF.search(data):
            self.token = found.group(1).decode()
        return response.status, response.getheader("Location") or "", data

    def page(self, path: str) -> None:
        status, _, data = self.request("GET", path)
        if status != 200 or self.token is None:
            raise SystemExit(f"GET {path}: {status} {data[:300]!r}")

    def submit(self, path: str, **fields):
        return self.request("POST", path, {"csrf_token": self.token, **fields})

    def log_in(self, email: str) -> None:
        self.page("/login")
        status, _, data = self.submit("/login", email=email, password=PASSWORD)
        if status != 302:
            raise SystemExit(f"logging in {email}: {status} {data[:300]!r}")


def drawn_signature() -> str:
    """A signature pad's data URL: a stroke on a transparent 640 x 180 canvas."""
    from PIL import Image, ImageDraw

    canvas = Image.new("RGBA", (640, 180), (0, 0, 0, 0))
    stroke = [(40, 120), (110, 50), (180, 135), (260, 60), (350, 125), (450, 55), (600, 95)]
    ImageDraw.Draw(canvas).line(stroke, fill=(25, 30, 70, 255), width=5, joint="curve")
    png = io.BytesIO()
    canvas.save(png, "PNG")
    return "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()


# --- figures -------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest value with at least `share` of the values at or below it."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def spread(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50": percentile(values, 0.50),
        "p95": percentile(values, 0.95),
        "max": max(values, default=math.nan),
    }


def _busy_cores(seconds: float) -> float:
    def sample():
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(values[:8]) - values[3] - values[4], sum(values[:8])

    busy, total = sample()
    time.sleep(seconds)
    busy_after, total_after = sample()
    share = (busy_after - busy) / max(1, total_after - total)
    return share * (os.cpu_count() or 1)


def quiet_moment(limit: float) -> float:
    """Wait (up to `limit` s) for the machine to idle; returns the cores others used last."""
    deadline = time.monotonic() + limit
    while True:
        busy = _busy_cores(1.0)
        if busy < 0.3 or time.monotonic() > deadline:
            return busy
        time.sleep(2)


# --- 1. an autosave during a finalisation --------------------------------------------------


class Autosaves(threading.Thread):
    """A partner typing: an autosave every `interval` s, one at a time, each timed."""

    def __init__(self, writer: Visitor, prompt: str, interval: float, tag: str):
        super().__init__(daemon=True)
        self.writer = writer
        self.path = f"/reflection/prompts/{prompt}/autosave"
        self.interval = interval
        self.tag = tag
        self.samples = []  # (sent, answered), time.perf_counter()
        self.failures = []
        self.stopping = threading.Event()

    def run(self) -> None:
        due = time.perf_counter()
        while not self.stopping.is_set():
            time.sleep(max(0.0, due - time.perf_counter()))
            sent = time.perf_counter()
            status, _, data = self.writer.submit(
                self.path, text=f"{self.tag}, keystroke {len(self.samples)}: what I meant"
            )
            self.samples.append((sent, time.perf_counter()))
            if status != 200 or b'"saved":true' not in data.replace(b" ", b""):
                self.failures.append(f"{status} {data[:120]!r}")
            # A late answer makes the next one due now, not a burst to catch up.
            due = max(due + self.interval, time.perf_counter())


class LockProbe(threading.Thread):
    """SQLite only: how long any writer would wait for the write lock, apart from CPU and
    HTTP. A connection of its own asks for the lock (BEGIN IMMEDIATE, no busy timeout) every
    2 ms, asks again every 0.5 ms while another holds it, and gives it back at once."""

    def __init__(self, database: Path):
        super().__init__(daemon=True)
        self.database = database
        self.samples = []  # (asked, got), time.perf_counter()
        self.stopping = threading.Event()

    def run(self) -> None:
        connection = sqlite3.connect(self.database, timeout=0, isolation_level=None)
        try:
            while not self.stopping.is_set():
                asked = time.perf_counter()
                while True:
                    try:
                        connection.execute("BEGIN IMMEDIATE")
                        break
                    except sqlite3.OperationalError:  # database is locked
                        time.sleep(0.0005)
                self.samples.append((asked, time.perf_counter()))
                connection.execute("ROLLBACK")
                time.sleep(0.002)
        finally:
            connection.close()


def _split(samples: list[tuple], began: float, ended: float) -> tuple[list, list]:
    """Durations in ms of the samples done before `began`, and of those overlapping
    [began, ended]."""
    alone = [1000 * (end - start) for start, end in samples if end < began]
    during = [1000 * (end - start) for start, end in samples if start < ended and end > began]
    return alone, during


def finalisation_round(version: Version, number: int, args, signature: str) -> dict:
    """Couple A's second signature while couple B autosaves: B's latencies before (the
    baseline) and during the finalisation, and the finalisation's own duration."""
    couple = version.seeded["finalising"][number]
    signer = Visitor(version.server.port)
    signer.log_in(couple["signer"])
    signer.page("/agreement/sign")
    locked_before = version.server.locked()

    typing = Autosaves(version.writer, version.seeded["prompt"], args.interval, f"round {number}")
    probe = LockProbe(version.instance / "duet.sqlite3") if version.database == "sqlite" else None
    for watcher in (typing, probe):
        if watcher is not None:
            watcher.start()
    time.sleep(args.baseline_seconds)
    began = time.perf_counter()
    status, location, data = signer.submit(
        "/agreement/sign",
        full_name="Finalising B Bench",
        signature=signature,
        review_on=(date.today() + timedelta(days=28)).isoformat(),
        agreed="y",
        password=PASSWORD,
    )
    ended = time.perf_counter()
    time.sleep(args.interval * 5)
    for watcher in (typing, probe):
        if watcher is not None:
            watcher.stopping.set()
            watcher.join()
    if status != 302 or not location.endswith("/agreements"):
        raise SystemExit(
            f"{version.label}: the finalising signature answered {status} {data[:300]!r}"
        )

    baseline, during = _split(typing.samples, began, ended)
    lock_alone, lock_during = _split(probe.samples, began, ended) if probe else ([], [])
    # When in the finalisation the lock was held longest: its write, or storing the PDF.
    longest = max(probe.samples, key=lambda sample: sample[1] - sample[0]) if probe else None
    return {
        "finalisation_s": ended - began,
        "longest_lock_at_s": longest[0] - began if longest else None,
        "baseline_ms": baseline,
        "during_ms": during,
        "lock_baseline_ms": lock_alone,
        "lock_during_ms": lock_during,
        "failures": typing.failures,
        "locked_in_log": version.server.locked() - locked_before,
    }


# --- 2. simultaneous logins ----------------------------------------------------------------


def login_round(version: Version, args) -> dict:
    """`args.logins` people send the login form at the same moment (a barrier), each with a
    form and token of their own; even ones type the right password, odd ones a wrong one."""
    accounts = version.seeded["logins"]
    barrier = threading.Barrier(args.logins)
    results = [None] * args.logins
    locked_before = version.server.locked()

    def attempt(index: int) -> None:
        visitor = Visitor(version.server.port)
        visitor.page("/login")
        right = index % 2 == 0
        password = PASSWORD if right else f"not {PASSWORD}"
        barrier.wait()
        began = time.perf_counter()
        try:
            status, _, _ = visitor.submit(
                "/login", email=accounts[index // 2 % len(accounts)], password=password
            )
        except OSError as error:
            status = type(error).__name__
        results[index] = {"right": right, "status": status, "s": time.perf_counter() - began}

    threads = [threading.Thread(target=attempt, args=(index,)) for index in range(args.logins)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = lambda result: result["status"] == (302 if result["right"] else 400)  # noqa: E731
    statuses = {}
    for result in results:
        statuses[str(result["status"])] = statuses.get(str(result["status"]), 0) + 1
    return {
        "seconds": [result["s"] for result in results],
        "statuses": statuses,
        "errors": sum(
            1
            for result in results
            if not isinstance(result["status"], int) or result["status"] >= 500
        ),
        "unexpected": sum(1 for result in results if not expected(result)),
        "locked_in_log": version.server.locked() - locked_before,
    }


# --- one database --------------------------------------------------------------------------


def bench_database(args, database: str, work: Path) -> dict:
    versions = []
    try:
        for label, commit in (("before", args.before), ("after", args.after)):
            version = Version(label, commit, database, work / database)
            versions.append(version)
            version.seed(args.rounds, max(1, args.logins // 2), work / database)
            version.server = Server(version, args.workers, work / database)
            version.writer = Visitor(version.server.port)
            version.writer.log_in(version.seeded["writer"])
            version.writer.page(f"/reflection/prompts/{version.seeded['prompt']}")
            print(f"  {label}: {version.described}", flush=True)

        signature = drawn_signature()
        results = {
            version.label: {"finalisations": [], "logins": [], "quiet": []} for version in versions
        }
        # The versions take turns, so the noise of a shared machine falls on both alike.
        for number in range(args.rounds):
            for version in versions:
                results[version.label]["quiet"].append(quiet_moment(args.wait_quiet))
                run = finalisation_round(version, number, args, signature)
                results[version.label]["finalisations"].append(run)
                alone, during = spread(run["baseline_ms"]), spread(run["during_ms"])
                lock = ""
                if run["lock_during_ms"]:
                    lock = (
                        f"; lock wait max {max(run['lock_during_ms']):.0f} ms, "
                        f"{run['longest_lock_at_s']:+.2f} s from the start"
                    )
                print(
                    f"  round {number + 1} {version.label}: finalisation "
                    f"{run['finalisation_s']:.2f} s; autosave p50 {alone['p50']:.0f} ms alone, "
                    f"max {during['max']:.0f} ms during it{lock}",
                    flush=True,
                )
        for number in range(args.login_rounds):
            for version in versions:
                results[version.label]["quiet"].append(quiet_moment(args.wait_quiet))
                run = login_round(version, args)
                results[version.label]["logins"].append(run)
                print(
                    f"  logins {number + 1} {version.label}: {run['statuses']}, "
                    f"max {max(run['seconds']):.2f} s",
                    flush=True,
                )
        for version in versions:
            results[version.label]["code"] = version.described
        return results
    finally:
        for version in versions:
            version.close(args.keep)


# --- report --------------------------------------------------------------------------------


def _ratio(before: float, after: float) -> str:
    if after <= 0 or math.isnan(before) or math.isnan(after):
        return "n/a"
    return f"{before / after:.1f}x" if before / after < 100 else f"{before / after:.0f}x"


def summarise(result: dict) -> dict:
    runs = result["finalisations"]
    baseline = spread([value for run in runs for value in run["baseline_ms"]])
    during = spread([value for run in runs for value in run["during_ms"]])
    # The wait a finalisation adds: overlapping autosaves against the quiet ones' median.
    extra = {key: during[key] - baseline["p50"] for key in ("p50", "p95", "max")}
    lock_baseline = spread([value for run in runs for value in run["lock_baseline_ms"]])
    lock_during = spread([value for run in runs for value in run["lock_during_ms"]])
    logins = result["logins"]
    return {
        "baseline": baseline,
        "during": during,
        "extra": extra,
        "lock_baseline": lock_baseline,
        "lock_during": lock_during,
        "extra_by_round": [max(run["during_ms"]) - baseline["p50"] for run in runs],
        "finalisation": spread([run["finalisation_s"] for run in runs]),
        "autosave_failures": sum(len(run["failures"]) for run in runs),
        "autosave_locked": sum(run["locked_in_log"] for run in runs),
        "login": spread([value for run in logins for value in run["seconds"]]),
        "login_attempts": sum(len(run["seconds"]) for run in logins),
        "login_errors": sum(run["errors"] for run in logins),
        "login_unexpected": sum(run["unexpected"] for run in logins),
        "login_locked": sum(run["locked_in_log"] for run in logins),
        "login_statuses": {
            status: sum(run["statuses"].get(status, 0) for run in logins)
            for status in sorted({status for run in logins for status in run["statuses"]})
        },
        "quiet_max": max(result["quiet"]),
    }


def report(args, results: dict, load: tuple) -> None:
    import gunicorn

    title = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
    print()
    print("Duet write-lock benchmark")
    print(
        f"machine: {_cpu_model()}, {os.cpu_count()} cores; Python {platform.python_version()}; "
        f"gunicorn {gunicorn.__version__} --workers {args.workers} --worker-class sync; "
        f"load average {load[0]} at the start, {load[1]} at the end"
    )
    for database, result in results.items():
        before, after = summarise(result["before"]), summarise(result["after"])
        print()
        print(f"{title[database]}, before: {result['before']['code']}")
        print(f"{title[database]}, after:  {result['after']['code']}")
        print()
        print(
            f"1. Another couple's autosave (every {args.interval * 1000:.0f} ms) during a "
            f"finalisation, {args.rounds} rounds"
        )
        print(f"{'':36}{'before':>21}{'after':>21}{'before / after':>21}")
        print(f"{'':36}{COLUMNS * 3}")
        rows = [
            ("autosave, nothing else running, ms", "baseline", False, 0),
            ("autosave during a finalisation, ms", "during", True, 0),
            ("extra wait (minus baseline p50), ms", "extra", True, 0),
            ("the finalisation itself, s", "finalisation", True, 2),
        ]
        if after["lock_during"]["n"]:
            rows[3:3] = [
                ("write lock wait, nothing else, ms", "lock_baseline", False, 1),
                ("write lock wait, finalising, ms", "lock_during", True, 1),
            ]
        for label, key, ratios, digits in rows:
            line = f"{label:36}{_triple(before[key], digits)}{_triple(after[key], digits)}"
            if ratios:
                line += "".join(
                    f"{_ratio(before[key][k], after[key][k]):>7}" for k in ("p50", "p95", "max")
                )
            print(line)
        for label, summary in (("before", before), ("after", after)):
            print(
                f"   {label}: {summary['during']['n']} autosaves overlapped a finalisation, "
                f"{summary['autosave_failures']} failed; worst wait by round (ms): "
                f"{', '.join(f'{value:.0f}' for value in summary['extra_by_round'])}"
            )
        if after["lock_during"]["n"]:
            print(
                "   write lock wait: a connection of the bench's own asking for SQLite's write "
                "lock every 2 ms (BEGIN IMMEDIATE, then ROLLBACK)"
            )
        worst, p95 = after["extra"]["max"], after["extra"]["p95"]
        print(
            f"   target, extra wait under {TARGET_WAIT_MS} ms: after p95 {p95:.1f} ms "
            f"({'met' if p95 < TARGET_WAIT_MS else 'MISSED'}), worst {worst:.1f} ms "
            f"({'met' if worst < TARGET_WAIT_MS else 'MISSED'}); before: worst "
            f"{before['extra']['max']:.0f} ms"
        )
        print()
        print(
            f"2. {args.logins} simultaneous logins (half right, half wrong passwords), "
            f"{args.login_rounds} rounds"
        )
        print(f"{'latency, s':>30}{'errors':>8}{'locked':>8}{'other':>7}  statuses")
        print(f"{'':9}{COLUMNS}")
        for label, summary in (("before", before), ("after", after)):
            print(
                f"   {label:6}{_triple(summary['login'], 2)}"
                f"{summary['login_errors']:>8}{summary['login_locked']:>8}"
                f"{summary['login_unexpected']:>7}  {summary['login_statuses']}"
            )
        print(
            f"   errors: 5xx or no answer, of {after['login_attempts']}; locked: of those, failed "
            "on 'database is locked' (the server's log); other: neither 302 (right password) "
            "nor 400 (wrong)"
        )
        errors = after["login_errors"]
        print(f"   target, 0 errors: after {errors} ({'met' if errors == 0 else 'MISSED'})")
        quiet = max(before["quiet_max"], after["quiet_max"])
        note = "" if quiet < 0.3 else " (a busy machine: run again)"
        print(f"   other processes just before the rounds: up to {quiet:.2f} cores{note}")


COLUMNS = f"{'p50':>7}{'p95':>7}{'max':>7}"


def _triple(values: dict, digits: int = 0) -> str:
    return "".join(f"{values[key]:7.{digits}f}" for key in ("p50", "p95", "max"))


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--rounds", type=int, default=8, help="finalisations per version")
    parser.add_argument("--login-rounds", type=int, default=3)
    parser.add_argument("--logins", type=int, default=50, help="simultaneous logins per round")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between autosaves")
    parser.add_argument(
        "--baseline-seconds", type=float, default=2.0, help="autosaving before each finalisation"
    )
    parser.add_argument("--before", default=OLD_COMMIT, help="the commit before the boundary")
    parser.add_argument("--after", default="HEAD", help="the commit to compare with it")
    parser.add_argument(
        "--wait-quiet", type=float, default=30, help="max seconds to wait for an idle machine"
    )
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the PostgreSQL databases and the work folder (gunicorn's logs, SQLite files)",
    )
    args = parser.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="duet-lock-wait-"))
    load_at_start = _load()
    try:
        results = {}
        for database in args.database.split(","):
            print(database, flush=True)
            (work / database).mkdir()
            results[database] = bench_database(args, database, work)
        report(args, results, (load_at_start, _load()))
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
