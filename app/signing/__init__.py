from flask import Blueprint

bp = Blueprint("signing", __name__)

from app.signing import views  # noqa: E402,F401
