"""What a final agreement's PDF shows, stored as JSON when it becomes final.

The PDF is rendered after the commit, and a kept copy may be rendered long after the couple,
their drafts and even one partner's account are gone. Both render from this snapshot, taken
in the transaction that made the agreement final, so the PDF always shows the names,
wording and signatures that were signed (docs/pdf.md, "What the PDF holds").
"""

import base64
import datetime as dt

from app.signing.pdf import AuditLine, PdfAgreement, PdfClause, PdfReplaces, PdfSignature

VERSION = 1  # later fields are optional: a snapshot without them still reads (from_json)


def to_json(content: PdfAgreement) -> dict:
    return {
        "snapshot": VERSION,
        "title": content.title,
        "language": content.language,
        "version": content.version,
        "partners": list(content.partners),
        "finalised_at": content.finalised_at.isoformat(),
        "review_on": content.review_on.isoformat(),
        "clauses": [
            {
                "title": clause.title,
                "text": clause.text,
                "template": clause.template,
                "params": dict(clause.params),
            }
            for clause in content.clauses
        ],
        "fingerprint": content.fingerprint,
        "signatures": [
            {
                "name": signature.name,
                "full_name": signature.full_name,
                "signed_at": signature.signed_at.isoformat(),
                "image_png": base64.b64encode(signature.image_png).decode("ascii")
                if signature.image_png
                else None,
                "typed": signature.typed,
            }
            for signature in content.signatures
        ],
        "audit": [
            {"at": line.at.isoformat(), "text": line.text, "person": line.person}
            for line in content.audit
        ],
        "verify_url": content.verify_url,
        "document_id": content.document_id,
        "clause_fingerprints": list(content.clause_fingerprints),
        "replaces": {
            "version": content.replaces.version,
            "document_id": content.replaces.document_id,
            "finalised_at": content.replaces.finalised_at.isoformat(),
        }
        if content.replaces
        else None,
    }


def params_of(values: dict) -> tuple[tuple[str, int | str], ...]:
    """A clause's values as the snapshot holds them: sorted by name, frozen."""
    return tuple(sorted(values.items()))


def has_terms(data: dict) -> bool:
    """Whether this snapshot names each clause's template and values (taken since the pause
    rules read them); an older one has only the words."""
    return all("template" in item for item in data["clauses"])


def from_json(data: dict) -> PdfAgreement:
    """The agreement as snapshotted. Snapshots taken before the document ID, the replaced
    version, the clause fingerprints, the grouped audit trail and the clauses' templates
    read too: the ID is computed as it was then, the rest prints as it did, and the clauses
    come without template or values (see `has_terms`)."""
    if data.get("snapshot") != VERSION:
        raise ValueError(f"unknown snapshot version {data.get('snapshot')!r}")
    replaces = data.get("replaces")
    return PdfAgreement(
        title=data["title"],
        language=data["language"],
        version=data["version"],
        partners=tuple(data["partners"]),
        finalised_at=dt.datetime.fromisoformat(data["finalised_at"]),
        review_on=dt.date.fromisoformat(data["review_on"]),
        clauses=tuple(
            PdfClause(
                title=item["title"],
                text=item["text"],
                template=item.get("template"),
                params=params_of(item.get("params") or {}),
            )
            for item in data["clauses"]
        ),
        fingerprint=data["fingerprint"],
        signatures=tuple(
            PdfSignature(
                name=item["name"],
                full_name=item["full_name"],
                signed_at=dt.datetime.fromisoformat(item["signed_at"]),
                image_png=base64.b64decode(item["image_png"]) if item["image_png"] else None,
                typed=item["typed"],
            )
            for item in data["signatures"]
        ),
        audit=tuple(
            AuditLine(
                at=dt.datetime.fromisoformat(item["at"]),
                text=item["text"],
                person=item.get("person"),
            )
            for item in data["audit"]
        ),
        verify_url=data["verify_url"],
        clause_fingerprints=tuple(data.get("clause_fingerprints", ())),
        replaces=PdfReplaces(
            version=replaces["version"],
            document_id=replaces["document_id"],
            finalised_at=dt.datetime.fromisoformat(replaces["finalised_at"]),
        )
        if replaces
        else None,
        document_id=data.get("document_id", ""),  # "": computed from the fingerprint and time
    )
