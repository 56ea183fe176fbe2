"""The pause: one partner asks for time to calm down and promises when they will be back.

The rules live in `services.py`, with the clock passed in and no request; the pages come
on top (issue 15).
"""

from flask import Blueprint

bp = Blueprint("pause", __name__)

from app.pause import views  # noqa: E402,F401
