"""Benchmark of the signed PDF: making it once, and downloading it once it is stored.

1. Making it: the median wall and CPU time, and the peak memory, to render and seal a typical
   final agreement (12 clauses from the library, two signatures, one drawn and one typed, a
   real audit trail) the way Duet does (`pdf.sealed_pdf`: PDF/A-3b, tagged, shipped fonts,
   a PAdES seal, written in one pass), beside WeasyPrint's bare render of the same HTML (no
   PDF/A, no tags, no seal) in the same run, and their ratio (target: at most 1.15x). The
   bare render is measured three ways: with WeasyPrint's default font configuration (which
   scans the server's fonts on every render), with Duet's own (shipped fonts only), and with
   Duet's own kept from one render to the next as Duet keeps it, and the ratio is judged
   against the fastest, so that what Duet saves on fonts never hides what PDF/A, tags and
   the seal cost. The times come from one process per round that
   renders each variant in turn (the order turning each time, after a warm-up of each), so a
   machine whose speed drifts slows all of them alike; each peak (VmHWM) comes from a
   process that makes only that variant.
2. Downloading it: requests per second of `GET /agreements/<id>/pdf` by a signed-in partner
   (the stored, sealed PDF) beside bench/hello.py, both under the same gunicorn (4 sync
   workers), wrk rounds alternating (target: at least 50% of hello world).

It makes a SQLite database, an instance folder and a seal of its own, starts and stops
gunicorn itself, and removes what it made. Run from the repository root:

    pip install -e ".[bench]" && apt-get install -y wrk
    python bench/pdf.py                # both parts, about two minutes
    python bench/pdf.py --skip-download

Never run by pytest: it lives outside tests/. See docs/performance.md for the figures.
"""

import argparse
import base64
import io
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from poll import (
    _RUNNING,
    ROOT,
    SECRET_KEY,
    Server,
    closed_loop,
    seed,
    wait_for_quiet,
    write_wrk_script,
)

sys.path.insert(0, str(ROOT))

BENCH_PASSWORD = "bench password, never used"  # what poll.seed gives every partner
CLAUSES = 12
VARIANTS = {
    "duet": "Duet: render + seal (PDF/A-3b, tagged, sealed)",
    "bare": "WeasyPrint bare, default fonts",
    "bare-shipped": "WeasyPrint bare, Duet's font configuration",
    "bare-kept": "WeasyPrint bare, Duet's font configuration kept between renders",
}
BARE = ("bare", "bare-shipped", "bare-kept")
TARGET_RATIO = 1.15
TARGET_SHARE = 0.50


# --- the typical agreement -----------------------------------------------------------------


def drawn_signature() -> str:
    """A hand-drawn-looking signature, as the signature pad sends it (a PNG data URL)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (600, 200), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    strokes = [
        [(40 + x * 3, 120 + 40 * math.sin(x / 6) - x * 0.3) for x in range(60)],
        [(230 + x * 4, 100 + 30 * math.cos(x / 5)) for x in range(45)],
        [(420 + x * 3, 140 - 50 * math.sin(x / 9)) for x in range(50)],
    ]
    for stroke in strokes:
        draw.line(stroke, fill=(20, 30, 60, 255), width=5, joint="curve")
    output = io.BytesIO()
    image.save(output, "PNG")
    return "data:image/png;base64," + base64.b64encode(output.getvalue()).decode()


def make_final_agreement(app) -> tuple[int, dict, list[dict]]:
    """A couple's final agreement with its PDF stored, as the pages make it: the basic
    starter plus library clauses up to CLAUSES, agreed by both, signed (Anna draws, Bram
    types). Returns the agreement id, its snapshot and the partners' session cookies."""
    from app.accounts.models import User
    from app.content import library
    from app.couple import services as couples
    from app.db import utcnow
    from app.drafting import services as drafting
    from app.extensions import db
    from app.signing import services as signing
    from app.signing.models import FinalDocument
    from app.transaction import unit_of_work

    partners = seed(app, 1)
    with app.test_request_context(method="POST"):
        content = library()
        with unit_of_work():
            user = db.session.get(User, partners[0]["user_id"])
            couple = couples.couple_of(user)
            draft = drafting.current_draft(couple)
            present = {clause.template_id for clause in drafting.active_clauses(draft)}
            for template in content.clauses:
                if len(drafting.active_clauses(draft)) >= CLAUSES:
                    break
                if template.id not in present:
                    drafting.add_clause(draft, user, template.id, content)
            for clause in drafting.active_clauses(draft):
                for person in couple.partners:
                    drafting.approve(draft, clause, person, clause.version, content)
        for index, (name, drawing) in enumerate(
            (("Anna Maria de Vries", drawn_signature()), ("Bram Jansen", ""))
        ):
            with unit_of_work():
                signing.sign(
                    draft,
                    couple.partners[index],
                    couple.partners,
                    password=BENCH_PASSWORD,
                    full_name=name,
                    drawing=drawing,
                    typed=not drawing,
                    agreed=True,
                    review_on=utcnow().date() + timedelta(days=90),
                    library=content,
                )
        document = db.session.get(FinalDocument, draft.id, populate_existing=True)
        assert document is not None and document.pdf, "the final agreement has no PDF"
        clauses = len(drafting.active_clauses(draft))
        assert clauses == CLAUSES, f"{clauses} clauses, not {CLAUSES}"
        return draft.id, document.content, partners


# --- part 1: making the PDF, in a process per variant ------------------------------------------


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _makers(snapshot_file: Path, instance: Path) -> dict:
    """Each variant as a function that makes the PDF's bytes."""
    from weasyprint import HTML

    from app.signing import pdf, snapshot

    agreement = snapshot.from_json(json.loads(snapshot_file.read_text()))
    sealer = pdf.Sealer.load(instance)
    html = pdf.render_html(agreement)
    base_url = pdf.STATIC.as_uri() + "/"

    def duet() -> bytes:
        return pdf.sealed_pdf(agreement, sealer)

    def bare() -> bytes:
        return HTML(string=html, base_url=base_url, url_fetcher=pdf.StaticFetcher()).write_pdf()

    def bare_shipped() -> bytes:
        document = HTML(string=html, base_url=base_url, url_fetcher=pdf.StaticFetcher())
        return document.write_pdf(font_config=pdf.ShippedFonts())

    kept = pdf.ShippedFonts()  # as Duet keeps its own (pdf._kept_fonts)

    def bare_kept() -> bytes:
        document = HTML(string=html, base_url=base_url, url_fetcher=pdf.StaticFetcher())
        return document.write_pdf(font_config=kept)

    return {"duet": duet, "bare": bare, "bare-shipped": bare_shipped, "bare-kept": bare_kept}


def child_times(snapshot_file: Path, instance: Path, repeat: int) -> None:
    """After a warm-up of each, `repeat` rounds of one render per variant, the order turning
    each round, so that a machine whose speed drifts slows every variant alike."""
    makers = _makers(snapshot_file, instance)
    names = list(makers)
    runs = {name: {"wall": [], "cpu": [], "bytes": len(makers[name]())} for name in names}
    for number in range(repeat):
        for name in names[number % len(names) :] + names[: number % len(names)]:
            wall, cpu = time.perf_counter(), time.process_time()
            makers[name]()
            runs[name]["wall"].append(time.perf_counter() - wall)
            runs[name]["cpu"].append(time.process_time() - cpu)
    print(json.dumps(runs))


def child_memory(variant: str, snapshot_file: Path, instance: Path) -> None:
    """The peak memory (VmHWM) of a process that makes one variant three times."""
    make = _makers(snapshot_file, instance)[variant]
    rss_start = _status_kb("VmRSS")
    for _ in range(3):
        make()
    print(json.dumps({"rss_start_kb": rss_start, "hwm_kb": _status_kb("VmHWM")}))


def _child(*arguments: str) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, *arguments],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def make_pdfs(args, snapshot_file: Path, instance: Path) -> dict:
    files = ("--snapshot", str(snapshot_file), "--instance", str(instance))
    runs = {name: {"wall": [], "cpu": []} for name in VARIANTS}
    for number in range(args.rounds):
        wait_for_quiet(args.wait_quiet)
        timed = _child("--child", "times", "--repeat", str(args.repeat), *files)
        for name in VARIANTS:
            runs[name]["wall"] += timed[name]["wall"]
            runs[name]["cpu"] += timed[name]["cpu"]
            runs[name]["bytes"] = timed[name]["bytes"]
        print(f"  round {number + 1} of {args.rounds}", flush=True)
    results = {}
    for name, item in runs.items():
        memory = _child("--child", f"memory:{name}", *files)
        walls, cpus = item["wall"], item["cpu"]
        results[name] = {
            "wall_ms": 1000 * statistics.median(walls),
            "wall_spread_ms": (1000 * min(walls), 1000 * max(walls)),
            "cpu_ms": 1000 * statistics.median(cpus),
            "hwm_mb": memory["hwm_kb"] / 1024,
            "growth_mb": (memory["hwm_kb"] - memory["rss_start_kb"]) / 1024,
            "bytes": item["bytes"],
            "renders": len(walls),
        }
    return results


# --- part 2: downloading the stored PDF --------------------------------------------------------


def check_download(server: Server, cookie: str, path: str, stored: bytes) -> None:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request("GET", path, headers={"Cookie": f"session={cookie}"})
    response = connection.getresponse()
    body = response.read()
    if response.status != 200 or body != stored:
        raise SystemExit(f"download check: {response.status}, {len(body)} bytes, not the PDF")


def download(args, work: Path, app, agreement_id: int, partners: list[dict]) -> dict:
    from app.extensions import db
    from app.signing.models import FinalDocument

    with app.app_context():
        stored = db.session.get(FinalDocument, agreement_id).pdf
    path = f"/agreements/{agreement_id}/pdf"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    hello = Server(args, "hello:app", ROOT / "bench", env, work, "hello")
    duet = Server(args, "app:create_app()", ROOT, env, work, "duet")
    check_download(duet, partners[0]["cookie"], path, stored)
    check_download(duet, partners[1]["cookie"], path, stored)
    hello_script, pdf_script = work / "hello.lua", work / "pdf.lua"
    # bench/poll.py's wrk script, with no poll token or ETag: neither answer reads them.
    plain = {"token": "", "etag": ""}
    write_wrk_script(hello_script, [{"cookie": "x" * 200, **plain}], "/", 200)
    write_wrk_script(pdf_script, [{**p, **plain} for p in partners], path, 200)
    wait_for_quiet(args.wait_quiet)
    closed = closed_loop(
        args,
        {
            "hello": (hello, lambda: hello_script, "/"),
            "pdf": (duet, lambda: pdf_script, path),
        },
    )
    hello.stop()
    duet.stop()
    closed["pdf"]["bytes"] = len(stored)
    return closed


# --- report --------------------------------------------------------------------------------


def report(args, made: dict | None, downloaded: dict | None) -> None:
    print()
    print(
        f"# PDF bench: {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    if made:
        duet = made["duet"]
        baseline_name = min(BARE, key=lambda name: made[name]["wall_ms"])
        baseline = made[baseline_name]
        print(
            f"# making the PDF: {CLAUSES} clauses, two signatures (one drawn); "
            f"{args.rounds} rounds x {args.repeat} renders per variant, interleaved; medians"
        )
        print()
        print(
            "| Variant | Wall (min-max) | CPU | Peak RSS | Growth | Size "
            "| x bare (wall) | x bare (CPU) |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for name, title in VARIANTS.items():
            item = made[name]
            low, high = item["wall_spread_ms"]
            print(
                f"| {title} | {item['wall_ms']:.0f} ms ({low:.0f}-{high:.0f}) "
                f"| {item['cpu_ms']:.0f} ms | {item['hwm_mb']:.0f} MB | {item['growth_mb']:.0f} MB "
                f"| {item['bytes'] / 1024:.0f} KB | {item['wall_ms'] / baseline['wall_ms']:.2f} "
                f"| {item['cpu_ms'] / baseline['cpu_ms']:.2f} |"
            )
        ratio = duet["wall_ms"] / baseline["wall_ms"]
        verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
        print()
        print(
            f"# render + seal / bare render ({VARIANTS[baseline_name]}): {ratio:.2f}x wall, "
            f"{duet['cpu_ms'] / baseline['cpu_ms']:.2f}x CPU; target <= {TARGET_RATIO}x: {verdict}"
        )
    if downloaded:
        pdf, hello = downloaded["pdf"], downloaded["hello"]
        share = pdf["rps"] / hello["rps"]
        print()
        print(
            f"# downloading the stored PDF ({pdf['bytes'] / 1024:.0f} KB): {args.workers} "
            f"{args.worker_class} workers, wrk {args.connections} connections, "
            f"{args.rounds} rounds of {args.wrk_seconds} s alternating"
        )
        print()
        print("| Endpoint | req/s | by round | p50 | p99 | server CPU per request |")
        print("| --- | --- | --- | --- | --- | --- |")
        for title, item in (("hello world", hello), ("GET /agreements/<id>/pdf", pdf)):
            rounds = ", ".join(f"{value:.0f}" for value in item["rounds_rps"])
            print(
                f"| {title} | {item['rps']:.0f} | {rounds} | {item['p50_ms']:.1f} ms "
                f"| {item['p99_ms']:.1f} ms | {item['cpu_ms_per_request']:.2f} ms |"
            )
        verdict = "met" if share >= TARGET_SHARE else "NOT met"
        print()
        print(f"# download / hello world: {share:.0%}; target >= {TARGET_SHARE:.0%}: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=8, help="renders per variant per round")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--wrk-seconds", type=int, default=5, help="seconds per round")
    parser.add_argument("--warmup", type=int, default=3, help="wrk warm-up seconds")
    parser.add_argument("--wait-quiet", type=float, default=20)
    parser.add_argument("--skip-render", action="store_true")
    parser.add_argument("--skip-download", action="store_true")
    parser.add_argument("--keep", type=Path, help="also write the sealed PDF here")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # times, or memory:<variant>
    parser.add_argument("--snapshot", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--instance", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "times":
        child_times(args.snapshot, args.instance, args.repeat)
        return
    if args.child:
        child_memory(args.child.removeprefix("memory:"), args.snapshot, args.instance)
        return
    if not args.skip_download and shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk (or --skip-download)")

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="duet-bench-pdf-"))
    try:
        instance = work / "instance"
        os.environ.update(
            {
                "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}",
                "SECRET_KEY": SECRET_KEY,
                "DUET_INSTANCE_PATH": str(instance),
            }
        )
        from app import create_app
        from app.extensions import db
        from app.signing.pdf import Sealer

        instance.mkdir()
        Sealer.create(instance)
        app = create_app()
        agreement_id, content, partners = make_final_agreement(app)
        if args.keep:
            from app.signing.models import FinalDocument

            with app.app_context():
                args.keep.write_bytes(db.session.get(FinalDocument, agreement_id).pdf)
        snapshot_file = work / "snapshot.json"
        snapshot_file.write_text(json.dumps(content))
        with app.app_context():
            db.engine.dispose()
        made = None if args.skip_render else make_pdfs(args, snapshot_file, instance)
        downloaded = (
            None if args.skip_download else download(args, work, app, agreement_id, partners)
        )
        report(args, made, downloaded)
    finally:
        for server in list(_RUNNING):
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
