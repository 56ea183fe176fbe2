from flask import Blueprint

bp = Blueprint("drafting", __name__)

from app.drafting import views  # noqa: E402,F401
