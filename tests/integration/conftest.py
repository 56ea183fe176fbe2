import pytest
from sqlalchemy import select

from app.drafting.models import AgreementClause
from app.extensions import db


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
