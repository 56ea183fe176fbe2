from flask import Blueprint

bp = Blueprint("couple", __name__)

from app.couple import views  # noqa: E402,F401
