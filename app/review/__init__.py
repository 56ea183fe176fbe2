"""The review together: from a week before the review date each partner privately says how
each clause went; once both have, both see both, and can revise into the next version.

The rules live in `services.py`, with the day passed in and no request (issue 15).
"""

from flask import Blueprint

bp = Blueprint("review", __name__)

from app.review import views  # noqa: E402,F401
