"""Racing requests: several test clients send at the same moment, each from its own thread.

`rendezvous` makes the race certain where the database allows it: each request waits at
its first call of a check ("is there a couple yet?") until the others reach theirs, so all
of them have passed the check before any of them writes. Where a request holds the write
lock by then (SQLite), the others cannot reach the check; the wait then gives up after a
moment and the requests simply run one after the other.
"""

import contextlib
import threading
from dataclasses import dataclass

MEETING_TIMEOUT = 2.0


@dataclass
class Answer:
    status: int
    location: str | None
    text: str


def simultaneously(app, requests: list[tuple[str | None, str, dict]]) -> list[Answer]:
    """POST each (session cookie or None, path, form data) at once; answers in order."""
    barrier = threading.Barrier(len(requests))
    answers: list[Answer | BaseException | None] = [None] * len(requests)

    def send(index, cookie, path, data):
        try:
            client = app.test_client()
            if cookie is not None:
                client.set_cookie("session", cookie)
            barrier.wait()
            response = client.post(path, data=data)
            answers[index] = Answer(
                response.status_code, response.location, response.get_data(as_text=True)
            )
        except BaseException as error:  # noqa: BLE001 - reported by the caller's assert
            answers[index] = error

    threads = [
        threading.Thread(target=send, args=(index, *request))
        for index, request in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    failures = [answer for answer in answers if not isinstance(answer, Answer)]
    assert not failures, failures
    return answers


def rendezvous(monkeypatch, owner, name: str, parties: int) -> None:
    """Make each thread's first call of owner.name wait for the others' first call."""
    original = getattr(owner, name)
    barrier = threading.Barrier(parties)
    local = threading.local()

    def meeting(*args, **kwargs):
        if not getattr(local, "met", False):
            local.met = True
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(MEETING_TIMEOUT)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, meeting)
