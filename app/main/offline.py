"""Installable and offline (docs/safety.md, "What a phone keeps"): the web app manifest, the
service worker and the page it shows when there is no connection.

The worker keeps only the shipped static files and the offline page, in a cache named after
a hash of them (so a deploy replaces it), and, when the person chooses it on this device,
their signed agreements' PDFs. Never a page of theirs, never a live answer.
"""

import hashlib
import re
from pathlib import Path

from flask import current_app, render_template, url_for
from flask_babel import force_locale, get_locale
from flask_login import AnonymousUserMixin
from markupsafe import Markup

from app.extensions import limiter
from app.main import bp

# The files every page may need, kept for offline use. The fonts are those duet.css loads;
# the others in static/fonts are for the PDF only.
PRECACHED_FOLDERS = ("css", "js", "vendor", "icons")
PRECACHED_SUFFIXES = (".css", ".js", ".png", ".svg", ".woff2", ".woff")
CSS_URL = re.compile(r"""url\(["']?\.\./([^"')]+)["']?\)""")
# What the worker is built from and shows offline: a change to either is a new version too.
WORKER_SOURCES = ("main/service-worker.js", "main/offline.html")
THEME_COLOUR = "#f6f4f0"  # --bg in static/css/duet.css (base.html names the dark one)


def static_files(static_folder: Path) -> list[str]:
    """The static files to precache, as paths inside the static folder, sorted."""
    files = {"favicon.svg"}
    for folder in PRECACHED_FOLDERS:
        for path in (static_folder / folder).rglob("*"):
            if path.is_file() and path.suffix in PRECACHED_SUFFIXES:
                files.add(path.relative_to(static_folder).as_posix())
    for css in (static_folder / "css").glob("*.css"):
        for target in CSS_URL.findall(css.read_text()):
            files.add(target)
    return sorted(files)


def version_of(static_folder: Path, template_folder: Path, files: list[str]) -> str:
    """A short hash of every precached file and of the worker's own sources."""
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode() + b"\0" + (static_folder / name).read_bytes())
    for name in WORKER_SOURCES:
        digest.update(name.encode() + b"\0" + (template_folder / name).read_bytes())
    return digest.hexdigest()[:16]


@bp.record_once
def _compute_version(state) -> None:
    # At start-up, once: the files do not change while the app runs.
    app = state.app
    static_folder = Path(app.static_folder)
    files = static_files(static_folder)
    app.extensions["duet.offline"] = {
        "files": files,
        "version": version_of(static_folder, Path(app.template_folder), files),
    }


@bp.get("/manifest.webmanifest")
@limiter.exempt
def manifest():
    icons = [
        {"src": "icons/icon-192.png", "sizes": "192x192", "purpose": "any"},
        {"src": "icons/icon-512.png", "sizes": "512x512", "purpose": "any"},
        {"src": "icons/maskable-512.png", "sizes": "512x512", "purpose": "maskable"},
    ]
    # The name shows under the icon on the home screen: just "Duet", nothing about what for.
    body = {
        "id": "/",
        "name": "Duet",
        "short_name": "Duet",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "theme_color": THEME_COLOUR,
        "background_color": THEME_COLOUR,
        "icons": [
            {**icon, "src": url_for("static", filename=icon["src"]), "type": "image/png"}
            for icon in icons
        ],
    }
    response = current_app.json.response(body)
    response.mimetype = "application/manifest+json"
    return response


@bp.get("/service-worker.js")
@limiter.exempt
def service_worker():
    offline = current_app.extensions["duet.offline"]
    source = render_template(
        "main/service-worker.js",
        version=offline["version"],
        precache=[url_for("static", filename=name) for name in offline["files"]]
        + [url_for("main.offline"), url_for("main.manifest")],
        offline_url=url_for("main.offline"),
        exit_url=url_for("main.quick_exit"),
        icon=url_for("static", filename="icons/icon-192.png"),
    )
    # Sent no-store like every answer but the static files: a deploy reaches the phone at once.
    return current_app.response_class(source, mimetype="text/javascript")


@bp.get("/offline")
@limiter.exempt
def offline():
    """The page the worker shows when a page cannot load: the same for everyone, signed in or
    not (it is kept on the phone), in this language and the other."""
    other = "nl" if str(get_locale()) == "en" else "en"
    with force_locale(other):
        other_text = Markup(render_template("main/_offline_text.html", heading="h2"))
    return render_template(
        "main/offline.html",
        current_user=AnonymousUserMixin(),
        other_locale=other,
        other_text=other_text,
    )
