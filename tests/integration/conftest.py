import pytest
from sqlalchemy import select

from app.drafting.models import AgreementClause
from app.extensions import db
from tests.smtp import MailServer


@pytest.fixture
def mail_server():
    """A real SMTP server on loopback (aiosmtpd), for the tests that deliver mail."""
    server = MailServer().start()
    yield server
    server.stop()


def do_everything_private(people, content, canary: str) -> None:
    """Each person answers every prompt privately, fills in the pattern check and opens the
    help page, all carrying `canary`: none of it may reach the partner, or any message."""
    for someone in people:
        for prompt in content.prompts:
            someone.post(f"/reflection/prompts/{prompt.id}", data={"text": f"Mine {canary}"})
        check = {"note": f"Note {canary}"}
        for statement in content.pattern_check.statements:
            check[f"statement_{statement.id}"] = "often"
        assert someone.post("/reflection/pattern-check", data=check).status_code == 302
        assert someone.get("/help").status_code == 200


@pytest.fixture
def draft_for_concurrency(partners, app):
    """A couple drafting the basic starter: (app, their two session cookies, clause ids)."""
    anna, bram = partners
    assert (
        anna.post("/agreement/start", data={"language": "en", "starter": "basic"}).status_code
        == 302
    )
    cookies = [person.client.get_cookie("session").value for person in (anna, bram)]
    with app.app_context():
        clauses = {
            clause.template_id: clause.id for clause in db.session.scalars(select(AgreementClause))
        }
    return app, cookies, clauses


@pytest.fixture
def agreed(partners):
    """Every clause of the basic starter approved by both: ready to sign."""
    from tests.integration.test_signing import versions

    anna, bram = partners
    anna.post("/agreement/start", data={"language": "en", "starter": "basic"})
    for person in partners:
        for clause, version in versions(person).items():
            person.post(f"/agreement/clauses/{clause}/approve", data={"version": version})
    return anna, bram
