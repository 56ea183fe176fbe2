"""Fifty requests change one agreement at the same moment: no change is lost, none fails
with a database error, and the revision counts exactly the accepted changes."""

import threading

from sqlalchemy import func, select

from app.drafting.models import Agreement, AgreementClause, Event
from app.extensions import db

THREADS = 50


def test_fifty_simultaneous_changes(draft_for_concurrency):
    app, cookies, clauses = draft_for_concurrency
    with app.app_context():
        start = db.session.scalar(select(Agreement.revision))
        events_before = db.session.scalar(select(func.count(Event.id)))
        clauses_before = db.session.scalar(select(func.count(AgreementClause.id)))

    contested = clauses["pause-has-a-limit"]
    plans = []
    for number in range(THREADS):
        cookie = cookies[number % 2]
        if number < 10:  # ten changes to one clause from the same version: one may win
            plans.append(
                (
                    cookie,
                    f"/agreement/clauses/{contested}/params",
                    {"version": "1", "param-minutes": str(20 + number)},
                    "contested",
                )
            )
        elif number < 30:  # twenty new clauses: all must arrive
            plans.append((cookie, "/agreement/clauses", {"template": "no-blaming"}, "add"))
        else:  # twenty approvals of other clauses, by both partners
            target = clauses["ask-for-space"] if number % 4 < 2 else clauses["talk-once-calm"]
            plans.append(
                (cookie, f"/agreement/clauses/{target}/approve", {"version": "1"}, "approve")
            )

    barrier = threading.Barrier(THREADS)
    results = [None] * THREADS

    def run(index, cookie, path, data, kind):
        client = app.test_client()
        client.set_cookie("session", cookie)
        barrier.wait()
        response = client.post(path, data=data)
        results[index] = (kind, response.status_code, response.get_data(as_text=True))

    threads = [
        threading.Thread(target=run, args=(index, *plan)) for index, plan in enumerate(plans)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = [status for _kind, status, _body in results]
    assert all(status in (302, 409) for status in statuses), [
        (kind, status, body[:300]) for kind, status, body in results if status not in (302, 409)
    ]
    contested_wins = sum(1 for kind, status, _ in results if kind == "contested" and status == 302)
    assert contested_wins == 1
    assert all(status == 302 for kind, status, _ in results if kind in ("add", "approve"))

    accepted_adds = sum(1 for kind, status, _ in results if kind == "add" and status == 302)
    # Approving what one already approved is accepted but changes nothing.
    with app.app_context():
        approvals_made = db.session.scalar(
            select(func.count(Event.id)).where(Event.kind == "approved")
        )
        accepted = contested_wins + accepted_adds + approvals_made
        assert db.session.scalar(select(Agreement.revision)) == start + accepted
        assert db.session.scalar(select(func.count(Event.id))) == events_before + accepted
        assert (
            db.session.scalar(select(func.count(AgreementClause.id)))
            == clauses_before + accepted_adds
            == clauses_before + 20
        )
        assert approvals_made == 4  # two clauses, two partners
