"""The canonical form of an agreement: what a signature binds, byte for byte.

The format is documented in docs/fingerprint.md; change it only with a new `format` value.
"""

import hashlib
import json
import unicodedata
from datetime import date

# 2 added the review date (format 1, without it, is described in docs/fingerprint.md).
FORMAT = "duet-agreement/2"


def _normalise(value):
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {_normalise(key): _normalise(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(item) for item in value]
    return value


def serialise(data: dict) -> bytes:
    """UTF-8 JSON, keys sorted, no spaces, every string in Unicode NFC."""
    return json.dumps(
        _normalise(data), ensure_ascii=False, sort_keys=True, separators=(",", ":")
    ).encode("utf-8")


def fingerprint(data: dict) -> str:
    return hashlib.sha256(serialise(data)).hexdigest()


def clause_data(position: int, template_id, title: str, text: str, params: dict) -> dict:
    return {
        "position": position,
        "template": template_id,
        "title": title,
        "text": text,
        "params": params,
    }


def agreement_data(
    title: str,
    language: str,
    version: int,
    partners: list[str],
    clauses: list[dict],
    review_on: date,
) -> dict:
    return {
        "format": FORMAT,
        "title": title,
        "language": language,
        "version": version,
        "partners": partners,
        "clauses": clauses,
        "review_on": review_on.isoformat(),
    }
