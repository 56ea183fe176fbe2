"""Open-loop load for bench/poll.py (run by it, not by hand).

Every partner polls GET /live at fixed times, one poll every `interval` seconds with a
random phase, whatever the server does: the arrival rate stays constant (open loop). A
poll's latency runs from the time it was *scheduled*, not from when it was sent, so a client
that falls behind or a server that queues is counted in full (no coordinated omission).

As the browser does (app/static/js/live.js), each poll sends the last ETag and the last
poll token (X-Live-Token) its page was given, keeps both from every answer, and a poll
answered 200 is followed by GET /agreement/live (the drafting page's region). A few partners
("changers") also act as a person clicking on the page: GET /agreement, read the CSRF
token, clause and version from the form, wait a few seconds, POST .../approve or
.../withdraw, and follow the redirect back to GET /agreement. Each page load starts the
page's script again: the ETag from the page, no token (the next poll goes to the full path).

Plain asyncio sockets, one connection per request (`Connection: close`), which is what a
sync gunicorn worker does anyway; the client stays light so it takes little of the CPU that
it shares with the server.

Input: a JSON file (argv[1]) written by bench/poll.py. Output: one JSON object on stdout.
"""

import asyncio
import json
import random
import re
import resource
import sys
import time
from collections import Counter
from urllib.parse import urlencode

SET_COOKIE = re.compile(rb"(?im)^set-cookie: session=([^;\r\n]*)")
LIVE_TOKEN = re.compile(rb"(?im)^x-live-token: *([^\r\n]+)")
ETAG = re.compile(rb'(?im)^etag: *(?:W/)?"([^"\r\n]*)"')
INFINITY = float("inf")
PAGE_ETAG = re.compile(rb'id="live-state"[^>]*data-etag="([^"]+)"')
FORM = re.compile(
    rb'<form[^>]*action="/agreement/clauses/(\d+)/(approve|withdraw)[^"]*">(.*?)</form>', re.S
)
CSRF_TOKEN = re.compile(rb'name="csrf_token" value="([^"]+)"')
VERSION = re.compile(rb'name="version" value="(\d+)"')


class Recorder:
    """Latencies and statuses per kind of request, for those inside the measured window."""

    def __init__(self):
        self.latencies: dict[str, list[float]] = {}
        self.statuses: dict[str, Counter] = {}
        self.errors: Counter = Counter()

    def add(self, kind: str, latency: float, status: int) -> None:
        self.latencies.setdefault(kind, []).append(latency)
        self.statuses.setdefault(kind, Counter())[status] += 1

    def error(self, kind: str, error: BaseException) -> None:
        """A failed request counts as infinitely slow, so percentiles never hide failures."""
        self.errors[f"{kind}: {type(error).__name__}"] += 1
        self.latencies.setdefault(kind, []).append(INFINITY)
        self.statuses.setdefault(kind, Counter())[0] += 1


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not ordered:
        return float("nan")
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary(values: list[float]) -> dict:
    ordered = sorted(values)
    ms = 1000.0
    return {
        "count": len(ordered),
        "ok": sum(value != INFINITY for value in ordered),
        "p50_ms": percentile(ordered, 0.50) * ms,
        "p95_ms": percentile(ordered, 0.95) * ms,
        "p99_ms": percentile(ordered, 0.99) * ms,
        "max_ms": (ordered[-1] if ordered else float("nan")) * ms,
        "mean_ok_ms": (
            sum(fine) / len(fine)
            if (fine := [v for v in ordered if v != INFINITY])
            else float("nan")
        )
        * ms,
    }


class Client:
    def __init__(self, host: str, port: int, user_agent: str, timeout: float):
        self.host, self.port, self.timeout = host, port, timeout
        self.prefix = f"Host: {host}:{port}\r\nUser-Agent: {user_agent}\r\nConnection: close\r\n"

    async def request(self, method: str, path: str, cookie: str, headers: str = "", body=b""):
        head = f"{method} {path} HTTP/1.1\r\n{self.prefix}Cookie: session={cookie}\r\n{headers}"
        if method == "POST":
            head += "Content-Type: application/x-www-form-urlencoded\r\n"
            head += f"Content-Length: {len(body)}\r\n"
        async with asyncio.timeout(self.timeout):
            reader, writer = await asyncio.open_connection(self.host, self.port)
            try:
                writer.write(head.encode() + b"\r\n" + body)
                data = await reader.read()
            finally:
                writer.close()
        header, _, content = data.partition(b"\r\n\r\n")
        if not header.startswith(b"HTTP/1."):
            raise ConnectionError("no HTTP response")
        return int(header[9:12]), header, content


class Partner:
    """What one page holds: the session cookie, the last ETag and the last poll token."""

    __slots__ = ("cookie", "etag", "token")

    def __init__(self, cookie: str, etag: str, token: str | None):
        self.cookie = cookie
        self.etag = etag
        self.token = token


class Load:
    def __init__(self, spec: dict):
        self.spec = spec
        self.client = Client(spec["host"], spec["port"], spec["user_agent"], spec["timeout"])
        self.partners = [Partner(p["cookie"], p["etag"], p["token"]) for p in spec["partners"]]
        self.record = Recorder()
        self.full_path = 0  # polls in the window answered by the full path (a new token)
        self.answered = 0  # every answer, warm-up included, for CPU per request
        self.tasks: set[asyncio.Task] = set()
        self.lags: list[float] = []
        self.peak_in_flight = 0
        self.loop = asyncio.get_running_loop()

    def measuring(self, moment: float) -> bool:
        return self.window_start <= moment < self.window_end

    def spawn(self, coroutine) -> None:
        task = self.loop.create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def timed(self, kind: str, since: float, counted: bool, *args, **kwargs):
        try:
            status, header, content = await self.client.request(*args, **kwargs)
        except (OSError, TimeoutError, ConnectionError, ValueError) as error:
            if counted:
                self.record.error(kind, error)
            return None
        self.answered += 1
        if counted:
            self.record.add(kind, self.loop.time() - since, status)
        return status, header, content

    async def poll(self, partner: Partner, scheduled: float) -> None:
        counted = self.measuring(scheduled)
        headers = f'If-None-Match: "{partner.etag}"\r\n'
        if partner.token:
            headers += f"X-Live-Token: {partner.token}\r\n"
        answer = await self.timed(
            "poll", scheduled, counted, "GET", "/live", partner.cookie, headers
        )
        if answer is None:
            return
        status, header, _content = answer
        # Only the full path hands out a token; the page keeps the latest one.
        if token := LIVE_TOKEN.search(header):
            partner.token = token.group(1).decode().strip()
            self.full_path += counted
        if status == 200 and (etag := ETAG.search(header)):
            partner.etag = etag.group(1).decode()
            # The page then fetches its region that follows what moved, and merges it in.
            now = self.loop.time()
            await self.timed("live", now, counted, "GET", "/agreement/live", partner.cookie)

    async def schedule(self) -> None:
        interval, total = self.spec["interval"], self.spec["warmup"] + self.spec["duration"]
        rng = random.Random(self.spec["seed"])
        times = []
        for index in range(len(self.partners)):
            moment = rng.uniform(0, interval)
            while moment < total:
                times.append((moment, index))
                moment += interval
        times.sort()
        limit = self.spec["max_in_flight"]
        for offset, index in times:
            due = self.start + offset
            delay = due - self.loop.time()
            if delay > 0.0005:
                await asyncio.sleep(delay)
            now = self.loop.time()
            if self.measuring(due):
                self.lags.append(now - due)
            if len(self.tasks) >= limit:
                if self.measuring(due):
                    self.record.error("poll", OverflowError("too many in flight"))
                continue
            self.spawn(self.poll(self.partners[index], due))
            self.peak_in_flight = max(self.peak_in_flight, len(self.tasks))

    async def change_loop(self, index: int, stop: float, rng: random.Random) -> None:
        """One person on the drafting page, agreeing to a clause and withdrawing it again."""
        partner = self.partners[index]
        low, high = self.spec["change_every"]
        await asyncio.sleep(rng.uniform(0, high))
        while self.loop.time() < stop:
            began = self.loop.time()
            counted = self.measuring(began)
            answer = await self.timed("page", began, counted, "GET", "/agreement", partner.cookie)
            if answer is None:
                await asyncio.sleep(1)
                continue
            status, header, content = answer
            if cookie := SET_COOKIE.search(header):
                partner.cookie = cookie.group(1).decode()
            form, etag = FORM.search(content), PAGE_ETAG.search(content)
            token = CSRF_TOKEN.search(form.group(3)) if form else None
            version = VERSION.search(form.group(3)) if form else None
            if status != 200 or etag is None or token is None or version is None:
                self.record.errors[f"page: status {status} without a clause form"] += counted
                await asyncio.sleep(1)
                continue
            # A page load starts live.js again: the page's ETag, and no token yet.
            partner.etag, partner.token = etag.group(1).decode(), None
            clause_id, action = form.group(1).decode(), form.group(2).decode()
            await asyncio.sleep(rng.uniform(low, high))
            began = self.loop.time()
            counted = self.measuring(began)
            fields = {"csrf_token": token.group(1).decode(), "version": version.group(1).decode()}
            body = urlencode(fields).encode()
            path = f"/agreement/clauses/{clause_id}/{action}"
            answer = await self.timed(
                "change", began, counted, "POST", path, partner.cookie, body=body
            )
            if answer is not None and (cookie := SET_COOKIE.search(answer[1])):
                partner.cookie = cookie.group(1).decode()
            # The browser follows the redirect: the loop starts with GET /agreement again.

    async def run(self) -> dict:
        self.start = self.loop.time() + 0.5
        self.window_start = self.start + self.spec["warmup"]
        self.window_end = self.window_start + self.spec["duration"]
        stop = self.window_end
        rng = random.Random(self.spec["seed"] + 1)
        changers = [
            self.loop.create_task(self.change_loop(index, stop, rng))
            for index in self.spec["changers"]
        ]
        wall = time.monotonic()
        await self.schedule()
        await asyncio.gather(*changers)
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=self.spec["timeout"] + 1)
        wall = time.monotonic() - wall
        usage = resource.getrusage(resource.RUSAGE_SELF)
        lags = sorted(self.lags)
        return {
            "window_s": self.spec["duration"],
            "wall_s": wall,
            "kinds": {kind: summary(values) for kind, values in self.record.latencies.items()},
            "statuses": {
                kind: {str(code): count for code, count in counts.items()}
                for kind, counts in self.record.statuses.items()
            },
            "errors": dict(self.record.errors),
            "full_path": self.full_path,
            "answered": self.answered,
            "peak_in_flight": self.peak_in_flight,
            "lag_p99_ms": percentile(lags, 0.99) * 1000,
            "lag_max_ms": (lags[-1] if lags else float("nan")) * 1000,
            "cpu_s": usage.ru_utime + usage.ru_stime,
        }


async def main(spec: dict) -> dict:
    return await Load(spec).run()


if __name__ == "__main__":
    with open(sys.argv[1]) as handle:
        spec = json.load(handle)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(main(spec))
    else:
        result = uvloop.run(main(spec))
    json.dump(result, sys.stdout)
