"""The content library: prompts, clause templates, starters and the pattern check.

Loaded from the `agreements/` folder and validated once at start-up; no request involved.
"""

from flask import current_app

from app.content.loader import ContentError, load_library
from app.content.schema import Clause, Library, Prompt, Starter

__all__ = ["Clause", "ContentError", "Library", "Prompt", "Starter", "library", "load_library"]


def library() -> Library:
    """The library the running app loaded at start-up."""
    return current_app.extensions["duet.content"]
