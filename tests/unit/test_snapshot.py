"""What a final agreement's PDF shows, kept as JSON: today's snapshots and older ones."""

import dataclasses
import datetime as dt

from app.signing import snapshot
from app.signing.pdf import AuditLine, PdfReplaces, document_id, render_html
from tests.unit.test_pdf import make_agreement

UTC = dt.UTC


def test_a_snapshot_reads_back_as_it_was_taken():
    agreement = make_agreement(
        "en",
        audit=(AuditLine(dt.datetime(2025, 11, 24, 20, 1, tzinfo=UTC), "Anna signed.", "Anna"),),
        clause_fingerprints=("ab" * 32, "cd" * 32),
        replaces=PdfReplaces(1, "DUET-0123-4567-89AB", dt.datetime(2025, 6, 1, 20, tzinfo=UTC)),
    )
    assert snapshot.from_json(snapshot.to_json(agreement)) == agreement


def test_a_snapshot_from_before_document_ids_still_reads():
    agreement = make_agreement("en")
    old = snapshot.to_json(agreement)
    for key in ("document_id", "clause_fingerprints", "replaces"):
        del old[key]
    for line in old["audit"]:
        del line["person"]
    content = snapshot.from_json(old)
    # The ID is computed as it would have been, from the fingerprint and the time it became final.
    assert content.document_id == document_id(agreement.fingerprint, agreement.finalised_at)
    assert content.replaces is None and content.clause_fingerprints == ()
    assert all(line.person is None for line in content.audit)
    assert content == dataclasses.replace(agreement, clause_fingerprints=(), replaces=None)
    # It prints its trail as it did, a line per event by day, and no clause fingerprints.
    html = render_html(content)
    assert 'class="audit-day"' in html and 'class="audit-person"' not in html
    assert '<table class="clause-fingerprints">' not in html
