"""Dates and times in the reader's language: English the British way, day month year and a
24-hour clock; Dutch as the Dutch write them."""

import datetime as dt
import re
from pathlib import Path

from flask_babel import force_locale

from app.filters import date, time

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_english_dates_are_day_month_year_and_dutch_stay_dutch(ctx):
    # 23:30 UTC on 30 November is 1 December in Amsterdam, the app's time zone.
    moment = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)
    with ctx.test_request_context():
        with force_locale("en"):
            assert date(moment) == "1 December 2026"
            assert date(moment, "medium") == "1 Dec 2026"
            assert date(dt.date(2026, 2, 24)) == "24 February 2026"
        with force_locale("nl"):
            assert date(moment) == "1 december 2026"
            assert date(moment, "medium") == "1 dec 2026"


def test_times_are_on_a_24_hour_clock_in_amsterdam_time(ctx):
    moment = dt.datetime(2026, 12, 1, 13, 5, 7, tzinfo=dt.UTC)  # 14:05 in Amsterdam
    with ctx.test_request_context():
        for language in ("en", "nl"):
            with force_locale(language):
                assert time(moment) == "14:05"
                # As the verify page shows a seal's time: to the second, with the zone.
                assert time(moment, "HH:mm:ss zzz") == "14:05:07 CET"


def test_templates_use_these_filters_rather_than_flask_babels():
    """flask-babel's dateformat, timeformat and datetimeformat write English the US way
    (Dec 1, 2026, 2:05 PM)."""
    us_style = re.compile(r"\|\s*(datetimeformat|dateformat|timeformat)\b")
    offenders = [
        str(path.relative_to(TEMPLATES))
        for path in sorted(TEMPLATES.rglob("*"))
        if path.suffix in {".html", ".txt"} and us_style.search(path.read_text())
    ]
    assert offenders == []
