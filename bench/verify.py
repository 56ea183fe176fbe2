"""Benchmark of the verify page's check: what each crafted upload costs, against a genuine PDF.

For a genuine Duet PDF and each hostile file of tests/crafted_pdfs.py (the large ones just
under VERIFY_MAX_BYTES), it runs the check as the verify page does (pdf.check_in_worker: a
checker forked by the warm verify worker, with the VERIFY_* budget) and prints the verdict,
the wall time, the checker's CPU time and peak memory (VmHWM, as the checker reports them)
and the ratios to the genuine PDF in the same run. With --before it also runs verify_pdf as
it was on commit 4f1a394 (from `git show`, in a temporary folder, one process per file,
stopped after --before-timeout seconds) and prints its time, peak memory and how much it
logged.

Run from the repository root:

    python bench/verify.py                 # the check as it is, about a minute
    python bench/verify.py --before        # and the old one; a few minutes

Never run by pytest: it lives outside tests/. See docs/performance.md for the figures.
"""

import argparse
import http.client
import logging
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OLD_COMMIT = "4f1a394"
sys.path.insert(0, str(ROOT))

from app import config as settings  # noqa: E402
from app.signing import pdf  # noqa: E402
from tests import crafted_pdfs as crafted  # noqa: E402
from tests.unit.test_pdf import make_agreement  # noqa: E402

GENUINE = "genuine Duet PDF"

# Runs the old verify_pdf on one file: argv = folder with old_pdf.py, instance, file.
# Peak memory is Linux's VmHWM: ru_maxrss would carry over this bench's own peak across exec.
OLD_RUNNER = """
import logging, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import old_pdf
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
sealer = old_pdf.Sealer.load_or_create(Path(sys.argv[2]))
data = Path(sys.argv[3]).read_bytes()
before = peak()
start = time.perf_counter()
status = old_pdf.verify_pdf(data, sealer).status
seconds = time.perf_counter() - start
print(status, seconds, before, peak(), flush=True)
"""


class Counting(logging.Handler):
    """Counts what the check logs, in characters."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.characters = 0

    def emit(self, record):
        self.characters += len(self.format(record))


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_cpu() -> float:
    """CPU seconds every process on the machine has used since boot (/proc/stat)."""
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _iowait, irq, softirq = map(int, stat.readline().split()[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def wait_quiet(seconds: float) -> None:
    """Wait (at most `seconds`) until other processes use less than a quarter of a core."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        before = machine_cpu()
        time.sleep(1)
        if machine_cpu() - before < 0.25:
            return


def measure(data: bytes, sealer, budget, repeat: int, log: Counting, quiet: float) -> dict:
    """The median of `repeat` checks: verdict, wall and CPU seconds, peak KiB, logged chars,
    and the cores other processes kept busy meanwhile."""
    runs = []
    for _ in range(repeat):
        wait_quiet(quiet)
        log.characters = 0
        mine, machine = own_cpu(), machine_cpu()
        start = time.perf_counter()
        verdict = pdf.check_in_worker(data, sealer.certificate, budget)
        seconds = time.perf_counter() - start
        # The checker says what it used (its parent, the warm worker, reaps it, so it never
        # counts among this process's children).
        worker = verdict.get("cpu_seconds", 0.0)
        others = machine_cpu() - machine - worker - (own_cpu() - mine)
        runs.append(
            {
                "status": verdict["status"],
                "over": verdict.get("over"),
                "seconds": seconds,
                "cpu": worker,
                "peak_kb": verdict.get("peak_kb"),
                "logged": log.characters,
                "others": max(0.0, others / seconds),
            }
        )
    median = sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]
    median["spread"] = (min(run["seconds"] for run in runs), max(run["seconds"] for run in runs))
    return median


def measure_before(files: dict[str, bytes], instance: Path, timeout: float) -> dict:
    """The old in-process check, one fresh process per file."""
    work = Path(tempfile.mkdtemp(prefix="duet-bench-verify-"))
    old = subprocess.run(
        ["git", "show", f"{OLD_COMMIT}:app/signing/pdf.py"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    (work / "old_pdf.py").write_bytes(old)
    results = {}
    for name, data in files.items():
        path = work / "upload.pdf"
        path.write_bytes(data)
        log = work / "log.txt"
        with open(log, "wb") as stderr:
            try:
                done = subprocess.run(
                    [sys.executable, "-c", OLD_RUNNER, str(work), str(instance), str(path)],
                    stdout=subprocess.PIPE,
                    stderr=stderr,
                    timeout=timeout,
                    cwd=work,
                )
                status, seconds, before_kb, peak_kb = done.stdout.split()
                results[name] = {
                    "status": status.decode(),
                    "seconds": float(seconds),
                    "grew_kb": int(peak_kb) - int(before_kb),
                    "peak_kb": int(peak_kb),
                    "logged": log.stat().st_size,
                }
            except subprocess.TimeoutExpired:
                results[name] = {"status": f"stopped after {timeout:.0f} s", "logged": None}
        print(f"  before: {name}: {results[name]}", file=sys.stderr, flush=True)
    subprocess.run(["rm", "-rf", str(work)], check=True)
    return results


def row(*cells) -> None:
    print("| " + " | ".join(str(cell) for cell in cells) + " |")


def header(*titles) -> None:
    row(*titles)
    row(*["---"] * len(titles))


def home_page_while_checking(instance: Path, upload: bytes, rounds: int) -> list[dict]:
    """The app on a threaded server; GET / while two uploads of `upload` are being checked."""
    from werkzeug.serving import make_server

    from app import create_app
    from app.extensions import db

    app = create_app(
        {
            "INSTANCE_PATH": str(instance),
            "SECRET_KEY": "duet-bench-secret-key-not-for-production",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'bench.sqlite3'}",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        db.create_all()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_port
    boundary = "duet-bench-upload"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="document"; '
            'filename="upload.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
        ).encode()
        + upload
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}

    def timed(method: str, path: str, **options) -> tuple[int, float, float]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        start = time.perf_counter()
        connection.request(method, path, **options)
        response = connection.getresponse()
        response.read()
        connection.close()
        return response.status, time.perf_counter() - start, time.perf_counter()

    idle = sorted(timed("GET", "/")[1] for _ in range(10))[5]
    results = []
    for _ in range(rounds):
        answers = []

        def upload_once(answers=answers):
            answers.append(timed("POST", "/verify", body=body, headers=headers))

        uploads = [threading.Thread(target=upload_once) for _ in range(2)]
        for thread in uploads:
            thread.start()
        while pdf.checkers_running() < 2 and any(thread.is_alive() for thread in uploads):
            time.sleep(0.002)
        status, seconds, home_done = timed("GET", "/")
        for thread in uploads:
            thread.join()
        results.append(
            {
                "idle": idle,
                "home": seconds,
                "status": status,
                "uploads": [answer[0] for answer in answers],
                "upload_seconds": max(answer[1] for answer in answers),
                "first": home_done < min(answer[2] for answer in answers),
            }
        )
    server.shutdown()
    server.server_close()
    return results


def megabytes(kilobytes) -> str:
    return "-" if kilobytes is None else f"{kilobytes / 1024:.0f} MB"


def size(data: bytes) -> str:
    return (
        f"{len(data) / 1024:.0f} KB" if len(data) < 1024 * 1024 else f"{len(data) / 2**20:.2f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="checks per file; the median counts")
    parser.add_argument("--before", action="store_true", help=f"also run the check of {OLD_COMMIT}")
    parser.add_argument("--before-timeout", type=float, default=60.0)
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        help="before each check, wait up to this many seconds for the machine to go idle",
    )
    arguments = parser.parse_args()

    instance = Path(tempfile.mkdtemp(prefix="duet-bench-instance-"))
    limit = settings.from_environment(instance)["VERIFY_MAX_BYTES"]
    budget = pdf.VerifyBudget.from_config(settings.DEFAULTS)
    sealer = pdf.Sealer.create(instance)
    genuine = pdf.seal_pdf(pdf.render_pdf(make_agreement("en")), sealer)
    contents = crafted.seal_contents(genuine)
    files = {GENUINE: genuine, "genuine, one trailing newline": genuine + b"\n"}
    files |= {name: build(contents, limit) for name, build in crafted.HOSTILE.items()}

    log = Counting()
    logging.getLogger("duet.pdf").addHandler(log)
    logging.getLogger("duet.pdf").setLevel(logging.DEBUG)
    load = os.getloadavg()
    print(f"# verify bench: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    print(f"# Python {platform.python_version()}, load average at start {load[0]:.2f}")
    print(
        f"# budget: {budget.cpu_seconds} s CPU, {budget.memory_bytes // 2**20} MB, "
        f"{budget.max_fields} fields, {budget.timeout_seconds} s wall; "
        f"upload limit {limit // 1024} KB"
    )
    after = {
        name: measure(data, sealer, budget, arguments.repeat, log, arguments.wait_quiet)
        for name, data in files.items()
    }
    base = after[GENUINE]
    print()
    header(
        "File",
        "Size",
        "Verdict",
        "Answered in (min-max)",
        "Worker CPU",
        "Peak memory",
        "x genuine (time)",
        "x genuine (memory)",
        "Logged",
        "Others' load",
    )
    for name, data in files.items():
        run = after[name]
        verdict = run["status"] + (f" (over {run['over']})" if run["over"] else "")
        low, high = run["spread"]
        memory_ratio = f"{run['peak_kb'] / base['peak_kb']:.1f}" if run["peak_kb"] else "-"
        row(
            name,
            size(data),
            verdict,
            f"{run['seconds']:.2f} s ({low:.2f}-{high:.2f})",
            f"{run['cpu']:.2f} s",
            megabytes(run["peak_kb"]),
            f"{run['seconds'] / base['seconds']:.1f}",
            memory_ratio,
            f"{run['logged']} chars",
            f"{run['others']:.1f} cores",
        )
    worst = max(after.values(), key=lambda run: run["seconds"])
    heaviest = max(run["peak_kb"] or 0 for run in after.values())
    print()
    print(f"# worst answer {worst['seconds']:.2f} s; most memory {megabytes(heaviest)}")

    print()
    print("# the home page on a threaded server while two 'integers, at the limit' are checked")
    print()
    header("GET / idle", "GET / meanwhile", "Status", "Uploads", "Uploads answered in", "/ first")
    rounds = home_page_while_checking(instance, files["integers, at the limit"], arguments.repeat)
    for run in rounds:
        row(
            f"{run['idle'] * 1000:.0f} ms",
            f"{run['home'] * 1000:.0f} ms",
            run["status"],
            " ".join(str(status) for status in run["uploads"]),
            f"{run['upload_seconds']:.2f} s",
            "yes" if run["first"] else "no",
        )

    if arguments.before:
        print()
        print(f"# before: verify_pdf of {OLD_COMMIT}, in process, one fresh process per file")
        before = measure_before(files, instance, arguments.before_timeout)
        old_base = before[GENUINE]
        print()
        header(
            "File",
            "Size",
            "Verdict",
            "Check took",
            "Memory grew by",
            "Peak (process)",
            "x genuine (time)",
            "Logged",
        )
        for name, data in files.items():
            run = before[name]
            if "seconds" not in run:
                stopped = f"> {arguments.before_timeout:.0f} s"
                row(name, size(data), run["status"], stopped, "-", "-", "-", "-")
                continue
            row(
                name,
                size(data),
                run["status"],
                f"{run['seconds']:.2f} s",
                megabytes(run["grew_kb"]),
                megabytes(run["peak_kb"]),
                f"{run['seconds'] / old_base['seconds']:.0f}",
                f"{run['logged']} bytes",
            )
    subprocess.run(["rm", "-rf", str(instance)], check=True)


if __name__ == "__main__":
    main()
