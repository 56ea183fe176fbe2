"""Dates in the reader's language: English the British way, day month year."""

import datetime as dt

from flask_babel import force_locale

from app.filters import date


def test_english_dates_are_day_month_year_and_dutch_stay_dutch(ctx):
    # 23:30 UTC on 30 November is 1 December in Amsterdam, the app's time zone.
    moment = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)
    with ctx.test_request_context():
        with force_locale("en"):
            assert date(moment) == "1 December 2026"
            assert date(dt.date(2026, 2, 24)) == "24 February 2026"
        with force_locale("nl"):
            assert date(moment) == "1 december 2026"
