"""Template filters: dates and devices, in the reader's language; and the error summary's list."""

import datetime as dt
from datetime import datetime

from babel import Locale
from babel.dates import format_date, format_time
from flask import Flask
from flask_babel import format_timedelta, get_locale, get_timezone, to_user_timezone
from flask_babel import gettext as _
from user_agents import parse

from app.db import as_utc, utcnow
from app.forms import error_list


def device_name(user_agent: str) -> str:
    agent = parse(user_agent or "")
    browser = agent.browser.family
    system = agent.os.family
    if browser == "Other" and system == "Other":
        return _("Unknown browser")
    return _("%(browser)s on %(system)s", browser=browser, system=system)


def ago(moment: datetime) -> str:
    return format_timedelta(as_utc(moment) - utcnow(), add_direction=True, threshold=0.9)


def date_locale(language: str) -> str:
    """English dates the British way (1 December 2026, 20:15), not the US one; others as is."""
    return "en_GB" if language == "en" else language


def _reader_locale() -> str:
    return date_locale((get_locale() or Locale("en")).language)


def date(moment: datetime | dt.date, format: str = "long") -> str:
    """1 December 2026 (long), 1 Dec 2026 (medium); 1 december 2026 in Dutch."""
    if isinstance(moment, datetime):
        moment = to_user_timezone(as_utc(moment))
    return format_date(moment, format=format, locale=_reader_locale())


def time(moment: datetime, format: str = "short") -> str:
    """The time of day in the app's time zone, on a 24-hour clock in both languages: 14:05."""
    moment = as_utc(moment)
    return format_time(moment, format=format, tzinfo=get_timezone(), locale=_reader_locale())


def day_and_time(moment: datetime) -> str:
    """A time in the coming days as people say it: "today at 21:30", "tomorrow at 08:00",
    or "3 December at 21:30", in the app's time zone."""
    local = to_user_timezone(as_utc(moment))
    today = to_user_timezone(utcnow()).date()
    hour = time(moment)
    if local.date() == today:
        return _("today at %(time)s", time=hour)
    if local.date() == today + dt.timedelta(days=1):
        return _("tomorrow at %(time)s", time=hour)
    day = format_date(local.date(), format="d MMMM", locale=_reader_locale())
    return _("%(day)s at %(time)s", day=day, time=hour)


def fingerprint(value: str) -> str:
    """A 64-character fingerprint in groups of four, as the PDF prints it."""
    return " ".join(value[index : index + 4] for index in range(0, len(value), 4))


def register_filters(app: Flask) -> None:
    # The one function templates call: what the error summary of a form lists.
    app.add_template_global(error_list)
    app.add_template_filter(fingerprint)
    app.add_template_filter(device_name)
    app.add_template_filter(ago)
    app.add_template_filter(date)
    # Not flask-babel's dateformat and timeformat: those write English the US way.
    app.add_template_filter(time)
    app.add_template_filter(day_and_time)
