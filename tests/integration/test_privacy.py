"""The privacy canary: a partner's private words reach no page the other partner can open.

Every GET route in app.url_map is requested as partner B, with every value its URL can
take, so pages added later are covered too.
"""

import io
import json
import uuid
import zipfile
from datetime import timedelta

from sqlalchemy import select, update

from app.accounts.models import Device, User
from app.content import load_library
from app.couple.models import Couple
from app.db import utcnow
from app.drafting.models import Agreement, AgreementClause
from app.extensions import db
from app.signing.models import FinalDocument, KeptCopy
from tests.integration.signing_helpers import finalise_through_services
from tests.integration.test_routes import ROUTES, _url
from tests.unit.test_content import AGREEMENTS

LIBRARY = load_library(AGREEMENTS)
# What only Anna's own pattern check can put on a page: its results, and the caution.
PRIVATE_TO_ANNA = (
    *(
        pattern.title(locale)
        for pattern in LIBRARY.pattern_check.patterns
        for locale in ("en", "nl")
    ),
    "You don’t have to sign",
    "An agreement does not make you safe",
    "You said you feel afraid",
    "You don’t have to answer",
)


def _values_for(argument: str, reader, app) -> list:
    with app.app_context():
        if argument == "prompt_id":
            return [prompt.id for prompt in LIBRARY.prompts]
        if argument == "device_id":
            return list(
                db.session.scalars(select(Device.id).join(User).where(User.email == reader.email))
            )
        if argument == "clause_id":
            return list(db.session.scalars(select(AgreementClause.id)))
        if argument == "agreement_id":
            return list(db.session.scalars(select(Agreement.id)))
        if argument == "copy_id":
            return list(db.session.scalars(select(KeptCopy.id)))
        if argument == "token":
            return list(db.session.scalars(select(Couple.invite_token)))
    raise AssertionError(f"the privacy canary does not know how to fill <{argument}>")


def _every_page(reader, app):
    """(url, body) for every GET route the reader can open, with every argument value."""
    for endpoint, method, rule in ROUTES:
        # The quick exit shows nothing: it ends the reader's session and leaves Duet.
        if method != "GET" or endpoint in ("static", "main.quick_exit"):
            continue
        combinations = [{}]
        for argument in rule.arguments:
            combinations = [
                {**combo, argument: value}
                for combo in combinations
                for value in _values_for(argument, reader, app)
            ]
        for values in combinations:
            url = _url(app, rule, values)
            response = reader.get(url, follow_redirects=True)
            assert response.status_code < 500, url
            yield url, _readable(response)


def _readable(response) -> str:
    """A page's text; for the data export (a ZIP), the text of every file in it."""
    if response.mimetype != "application/zip":
        # Replaced, not refused: a binary download (the seal certificate as DER) has no text.
        return response.get_data().decode("utf-8", "replace")
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
        return "\n".join(
            archive.read(name).decode("utf-8", "replace") for name in archive.namelist()
        )


def _assert_nothing_of_annas_check(url: str, body: str) -> None:
    for private in PRIVATE_TO_ANNA:
        assert private not in body, f"{url} reveals Anna's pattern check: {private!r}"


def test_private_words_never_reach_the_partner(partners, app):
    anna, bram = partners
    assert (
        anna.post("/agreement/start", data={"language": "en", "starter": "basic"}).status_code
        == 302
    )
    canary = f"canary-{uuid.uuid4().hex}"
    shared = f"shared-{uuid.uuid4().hex}"
    first, second = LIBRARY.prompts[0], LIBRARY.prompts[1]
    anna.post(f"/reflection/prompts/{first.id}", data={"text": f"Private {canary}"})
    anna.post(f"/reflection/prompts/{second.id}/autosave", data={"text": f"Mine {canary}"})
    check = {"note": f"Note {canary}"}
    for statement in LIBRARY.pattern_check.statements:
        check[f"statement_{statement.id}"] = "often"
    assert anna.post("/reflection/pattern-check", data=check).status_code == 302
    # Anna's own pages do carry the caution: so its absence below means something.
    assert "An agreement does not make you safe" in anna.get("/agreement").get_data(as_text=True)

    pages = 0
    for url, body in _every_page(bram, app):
        pages += 1
        assert canary not in body, f"{url} shows Anna's private words to Bram"
        _assert_nothing_of_annas_check(url, body)
    assert pages > len(LIBRARY.prompts)
    data, files = bram.export()
    assert canary not in json.dumps(data)
    assert not [name for name, content in files.items() if canary.encode() in content]
    assert data["pattern_check"] is None

    # Anna takes the check again: now the result for the one who goes quiet, with fear named.
    for statement in LIBRARY.pattern_check.statements:
        level = "often" if statement.pattern == "using" else "not-really"
        check[f"statement_{statement.id}"] = "sometimes" if statement.safety else level
    assert anna.post("/reflection/pattern-check", data=check).status_code == 302
    using = LIBRARY.pattern_check.pattern("using").title.en
    assert using in anna.get("/reflection/pattern-check/result").get_data(as_text=True)
    assert "An agreement does not make you safe" in anna.get("/agreement").get_data(as_text=True)

    third = LIBRARY.prompts[2]
    anna.post(f"/reflection/prompts/{third.id}", data={"text": f"For Bram {shared}"})
    anna.post(f"/reflection/prompts/{third.id}/share")
    seen = []
    for url, body in _every_page(bram, app):
        _assert_nothing_of_annas_check(url, body)
        seen += [url] if shared in body else []
    assert seen == ["/reflection"]
    overview = bram.get("/reflection").get_data(as_text=True)
    assert overview.count("Shared by Anna") == 1
    assert canary not in overview

    anna.post(f"/reflection/prompts/{third.id}/unshare")
    assert not [url for url, body in _every_page(bram, app) if shared in body]
    assert canary in anna.get(f"/reflection/prompts/{first.id}").get_data(as_text=True)


def test_review_answers_stay_private_until_both_answered(partners, app):
    """The canary's couple above never signs: this one signs, opens its review, and Anna
    answers it with words only she may see until Bram has answered too; her own check's
    caution on the review page never reaches him either."""
    anna, bram = partners
    agreement_id = finalise_through_services(app, anna.email)
    with app.app_context():
        db.session.execute(
            update(FinalDocument).values(review_on=utcnow().date() + timedelta(days=3))
        )
        db.session.commit()
    canary = f"canary-{uuid.uuid4().hex}"
    check = {f"statement_{statement.id}": "often" for statement in LIBRARY.pattern_check.statements}
    assert anna.post("/reflection/pattern-check", data=check).status_code == 302
    assert "You don’t have to answer" in anna.get("/review").get_data(as_text=True)
    marks = {f"mark_{index}": "change" for index in range(1, 7)}
    answers = marks | {"helped": f"Helped {canary}", "hard": f"Hard {canary}"}
    assert anna.post(f"/review/{agreement_id}", data=answers).status_code == 302
    assert canary in anna.get("/review").get_data(as_text=True)

    for url, body in _every_page(bram, app):
        assert canary not in body, f"{url} shows Anna's review answers to Bram"
        assert 'class="mark mark-change"' not in body, f"{url} shows Anna's marks to Bram"
        _assert_nothing_of_annas_check(url, body)
    data, files = bram.export()
    assert canary not in json.dumps(data)
    assert not [name for name, content in files.items() if canary.encode() in content]

    # Once Bram has answered too, the review page, and only it, shows both.
    bram_answers = {f"mark_{index}": "kept" for index in range(1, 7)}
    assert bram.post(f"/review/{agreement_id}", data=bram_answers).status_code == 302
    seen = []
    for url, body in _every_page(bram, app):
        _assert_nothing_of_annas_check(url, body)
        seen += [url] if canary in body else []
    assert seen == ["/review"]
    assert canary not in json.dumps(bram.export()[0])
