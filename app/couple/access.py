"""One way to reach what belongs to the signed-in person's couple: anything else is 404.

Every view that takes an id from the URL or a form fetches the object through a
statement scoped to the current couple and `owned_or_404`, so another couple's object
looks exactly like one that does not exist.
"""

from flask import abort
from flask_login import current_user
from sqlalchemy import Select

from app.couple import services
from app.couple.models import Couple
from app.extensions import db


def current_couple(*, complete: bool = True) -> Couple | None:
    """The signed-in person's couple; with `complete`, only once both partners are in it."""
    couple = services.couple_of(current_user)
    if couple is None or (complete and not services.is_complete(couple)):
        return None
    return couple


def couple_or_404(*, complete: bool = True) -> Couple:
    couple = current_couple(complete=complete)
    if couple is None:
        abort(404)
    return couple


def owned_or_404(statement: Select):
    """The one row of a statement already scoped to the current couple (or person), or 404."""
    found = db.session.execute(statement).first()
    if found is None:
        abort(404)
    return found[0] if len(found) == 1 else tuple(found)
