from flask import Blueprint

bp = Blueprint("reflection", __name__)

from app.reflection import views  # noqa: E402,F401
