"""The manifest, the service worker and the offline page (app/main/offline.py) over HTTP:
public, the same for everyone, never naming anything private; the browser side is
tests/browser/test_installable.py."""

import json
import re

from app.headers import CONTENT_SECURITY_POLICY
from app.main.offline import static_files, version_of


def test_every_page_links_the_manifest_and_the_icons(client):
    page = client.get("/login").text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    assert 'rel="apple-touch-icon" href="/static/icons/apple-touch-icon-180.png"' in page
    assert 'src="/static/js/offline.js" data-worker="/service-worker.js"' in page


def test_the_manifest_is_neutral_and_installable(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = json.loads(response.data)
    assert manifest["name"] == manifest["short_name"] == "Duet"
    assert "description" not in manifest
    assert manifest["display"] == "standalone"
    for icon in manifest["icons"]:
        with client.get(icon["src"]) as image:
            assert image.status_code == 200 and image.mimetype == "image/png"


def test_the_worker_is_served_from_the_root_and_never_kept(client):
    response = client.get("/service-worker.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-store"
    precache = json.loads(re.search(r"const PRECACHE = (\[.*\]);", response.text)[1])
    assert "/static/css/duet.css" in precache
    assert "/static/js/quick-exit.js" in precache
    assert "/static/icons/maskable-512.png" in precache
    assert "/static/fonts/caveat/caveat-latin-400-normal.woff2" in precache
    assert "/offline" in precache
    # Only shipped files, the offline page and the manifest: no page of anyone's.
    assert {url for url in precache if not url.startswith("/static/")} == {
        "/offline",
        "/manifest.webmanifest",
    }
    # The PDF's fonts are not for pages.
    assert not [url for url in precache if "source-serif" in url or "noto-" in url]


def test_the_cache_name_changes_with_any_static_file(app, tmp_path):
    static, templates = tmp_path / "static", tmp_path / "templates"
    (static / "css").mkdir(parents=True)
    (static / "favicon.svg").write_text("<svg/>")
    (static / "css" / "duet.css").write_text("body { color: black; }")
    (templates / "main").mkdir(parents=True)
    for name in ("service-worker.js", "offline.html"):
        (templates / "main" / name).write_text(name)
    files = static_files(static)
    before = version_of(static, templates, files)
    assert before == version_of(static, templates, files)
    (static / "css" / "duet.css").write_text("body { color: navy; }")
    assert version_of(static, templates, files) != before


def test_the_offline_page_is_the_same_for_everyone_in_both_languages(client, partners):
    anna, _ = partners
    signed_in = anna.get("/offline").text
    anonymous = client.get("/offline").text
    assert signed_in == anonymous
    assert "Anna" not in signed_in and "csrf_token" not in signed_in
    assert "<title>Duet</title>" in signed_in
    assert "You are offline" in signed_in and "Je bent offline" in signed_in
    assert 'href="/exit" data-quick-exit' in signed_in


def test_the_policy_allows_our_own_manifest_and_worker_only():
    assert "manifest-src 'self'" in CONTENT_SECURITY_POLICY
    assert "worker-src 'self'" in CONTENT_SECURITY_POLICY


def test_the_offline_choice_is_marked_per_person(partners):
    marks = []
    for person in partners:
        page = person.get("/agreements").text
        mark = re.search(r'data-keep-offline data-owner="([0-9a-f]{20})"', page)
        assert mark, "the versions page names whose choice it is"
        marks.append(mark.group(1))
    assert marks[0] != marks[1]
