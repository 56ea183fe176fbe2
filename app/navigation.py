"""Helpers views share: where to go next, and how a form's failure is answered."""

from urllib.parse import urlsplit

from flask import current_app, request, session, url_for
from werkzeug.routing import IntegerConverter

# The largest id any of our databases holds in an integer column (PostgreSQL's is 32 bits).
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """`<int:...>` in every URL: 1 to MAX_ID, so a larger number is a 404, never an overflow."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def safe_next(default: str) -> str:
    """The `next` target if it stays on this site, else the default."""
    return _on_this_site(request.values.get("next", ""), default)


def next_after_login(default: str) -> str:
    """The page that asked for a login. Flask-Login keeps it in the session
    (USE_SESSION_FOR_NEXT), not in the login page's address, so that Back after a quick
    exit never shows an address naming a private page (docs/safety.md)."""
    return _on_this_site(request.values.get("next") or session.get("next", ""), default)


def _on_this_site(target: str, default: str) -> str:
    parts = urlsplit(target)
    if not target.startswith("/") or target.startswith("//") or parts.scheme or parts.netloc:
        return default
    if "\\" in target or any(ord(char) < 32 for char in target):
        return default
    return target


def form_status(form) -> int:
    """200 for a fresh form, 400 for one sent back with errors."""
    return 400 if form.is_submitted() else 200


def public_url(endpoint: str, **values) -> str:
    """An absolute link built from PUBLIC_URL, never from the request's Host header."""
    return current_app.config["PUBLIC_URL"].rstrip("/") + url_for(endpoint, **values)


def attachment(data, mimetype: str, filename: str):
    """A download that is never cached: exports, PDFs and calendar files."""
    response = current_app.response_class(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
