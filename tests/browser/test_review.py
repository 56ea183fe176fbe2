"""The review on two phones: Anna (English) answers first and waits; Bram (Dutch) answers;
Anna's waiting page moves on by itself; both see both side by side; Anna revises and lands
on the draft with the clauses to change first."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from app.db import utcnow
from app.extensions import db
from app.signing.models import FinalDocument
from tests.browser.couples import couple
from tests.browser.pages import expect, follow, fresh, open_page
from tests.integration.signing_helpers import finalise_through_services
from tests.integration.test_review import TITLES

pytestmark = pytest.mark.browser

LIVE_MS = 10_000
SAVE = "form.review-form button[type=submit]"


def answer(page, changes: set[int], helped: str) -> None:
    """Kept for every clause but those in `changes` (from 1), and a few words."""
    for index in range(1, len(TITLES) + 1):
        page.locator(f"#mark_{index}-{2 if index in changes else 0}").check()
    page.locator("#helped").fill(helped)


def test_the_review_on_both_phones(live, signed_in, check):
    app, _ = live
    anna, bram = couple(signed_in, check, "review", tag="reviews")
    finalise_through_services(app, "anna.reviews@example.com")
    anna, bram = fresh(anna), fresh(bram)

    # Weeks before the review date: a calm page says when it opens.
    open_page(anna, "/review")
    expect(anna.locator("main")).to_contain_text("opens on")
    check(anna, "review-closed-en")
    # A pause meanwhile, which the review lists.
    open_page(anna, "/")
    follow(anna, "#home-pause form[action='/pause'] button")
    check(anna, "review-pause-en")
    follow(anna, "form[action$='/ready'] button")

    with app.app_context():
        db.session.execute(
            update(FinalDocument).values(review_on=utcnow().date() + timedelta(days=3))
        )
        db.session.commit()

    open_page(anna, "/")
    expect(anna.locator("main")).to_contain_text("It is time to talk about how your agreement")
    check(anna, "review-home-en")
    follow(anna, "main a[href='/review']")
    expect(anna.locator("h1")).to_have_text("How is your agreement going?")
    check(anna, "review-form-en")
    answer(anna, {2}, "Saying “I need a pause” out loud.")
    follow(anna, SAVE)
    expect(anna.locator("main")).to_contain_text("Waiting for Bram.")
    check(anna, "review-waiting-en")
    anna.evaluate("() => { window.__waited = 1; }")

    open_page(bram, "/review")
    expect(bram.locator("main")).to_contain_text("Anna heeft geantwoord.")
    expect(bram.locator("main")).not_to_contain_text("I need a pause” out loud")
    bram.locator("#mark_1-0").check()
    follow(bram, SAVE, status=400)  # a clause left open: said beside it, nothing lost
    expect(bram.locator("#mark_2-error")).to_be_visible()
    expect(bram.locator("#mark_1-0")).to_be_checked()
    check(bram, "review-error-nl")
    answer(bram, {5}, "Samen wandelen.")
    follow(bram, SAVE)
    expect(bram.locator("main")).to_contain_text("Jullie hebben allebei geantwoord.")
    expect(bram.locator("main")).to_contain_text("I need a pause” out loud")
    check(bram, "review-both-nl")

    # Anna's waiting page moves on by itself.
    expect(anna.locator("main")).to_contain_text("You have both answered.", timeout=LIVE_MS)
    assert anna.evaluate("() => window.__waited") is None, "the page did not reload"
    expect(anna.locator("main")).to_contain_text("Samen wandelen.")
    expect(anna.locator(".mark-change")).to_have_count(2)
    expect(anna.locator(".review-pauses li")).to_contain_text("Back by the time given.")
    check(anna, "review-both-en")

    follow(anna, "form[action$='/revise'] button")
    expect(anna).to_have_url(re.compile(r"/agreement$"))
    expect(anna.locator("main")).to_contain_text(
        "with the 2 clauses one of you wanted to change first"
    )
    titles = anna.locator("#clause-list > li.clause h3")
    expect(titles.nth(0)).to_have_text(TITLES[1])
    expect(titles.nth(1)).to_have_text(TITLES[4])
    expect(titles.nth(2)).to_have_text(TITLES[0])
    check(anna, "review-draft-en")
