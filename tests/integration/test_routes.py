"""The route inventory: rules that hold for every URL, including ones added later.

Built from app.url_map, so a new route is covered without anyone editing this file;
a new public route must be added to PUBLIC_ENDPOINTS on purpose.
"""

import re
import tempfile

import pytest
from flask import url_for
from werkzeug.routing import IntegerConverter

from app import create_app
from app.extensions import db
from tests.conftest import Person, _clean, test_settings
from tests.integration.ownership import NOT_OBJECT_IDS, OWNED_OBJECTS

PUBLIC_ENDPOINTS = {
    "static",
    "main.index",
    "main.language",
    "main.healthz",
    "main.quick_exit",  # works signed in or not: it ends a session if there is one
    # Installable and offline (app/main/offline.py): the same for everyone, nothing private.
    "main.manifest",
    "main.service_worker",
    "main.offline",
    "accounts.register",
    "accounts.login",
    "accounts.forgot_password",
    "accounts.reset_password",
    "couple.invitation",
    "reflection.help_page",
    "signing.verify",
    "signing.seal_certificate",
    "signing.seal_certificate_der",
}

# Asked by scripts, not opened by people: a signed-out visitor gets 401 and nothing else.
SCRIPT_ENDPOINTS = {"live.state"}


def _inventory():
    with tempfile.TemporaryDirectory() as instance:
        app = create_app(
            {
                "TESTING": True,
                "INSTANCE_PATH": instance,
                "SECRET_KEY": "inventory",
                "SQLALCHEMY_DATABASE_URI": "sqlite://",
            }
        )
        return [
            (rule.endpoint, method, rule)
            for rule in app.url_map.iter_rules()
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
        ]


ROUTES = _inventory()
POST_ROUTES = [route for route in ROUTES if route[1] == "POST"]
ROUTES_WITH_IDS = [route for route in ROUTES if set(route[2].arguments) - set(NOT_OBJECT_IDS)]
ROUTES_WITH_NUMBERS = [
    route
    for route in ROUTES
    if any(isinstance(converter, IntegerConverter) for converter in route[2]._converters.values())
]
# Just past PostgreSQL's integer, SQLite's integer, and any 64-bit integer.
BEYOND_THE_DATABASE = {"2**31": 2**31, "2**63": 2**63, "2**64": 2**64}


def _name(route) -> str:
    return f"{route[1]} {route[0]}"


def _url(app, rule, values: dict | None = None) -> str:
    """The rule's URL with the given values, and placeholders for the rest."""
    values = dict(values or {})
    for argument in rule.arguments:
        if argument not in values:
            converter = rule._converters[argument]
            values[argument] = 1 if isinstance(converter, IntegerConverter) else "placeholder"
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def test_public_list_names_only_real_endpoints():
    endpoints = {endpoint for endpoint, _method, _rule in ROUTES}
    assert endpoints >= PUBLIC_ENDPOINTS | SCRIPT_ENDPOINTS


@pytest.mark.parametrize("route", ROUTES, ids=_name)
def test_anonymous_visitors_are_sent_to_login_unless_public(app, route):
    endpoint, method, rule = route
    response = app.test_client().open(_url(app, rule), method=method)
    assert response.status_code < 500
    if endpoint in PUBLIC_ENDPOINTS:
        assert "/login" not in (response.location or "")
    elif endpoint in SCRIPT_ENDPOINTS:
        assert response.status_code == 401, f"{endpoint} answered an anonymous visitor"
        assert response.get_json() == {"signed_in": False}
    else:
        assert response.status_code == 302, f"{endpoint} answered an anonymous visitor"
        assert response.location.startswith("/login")


@pytest.mark.parametrize("route", POST_ROUTES, ids=_name)
def test_every_post_needs_a_csrf_token(make_app, route):
    _endpoint, _method, rule = route
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    response = client.post(_url(app, rule), data={"anything": "at all"})
    assert response.status_code == 400
    assert "This form has expired" in response.text


@pytest.fixture(scope="module")
def two_couples(tmp_path_factory, database_url_factory):
    """Two couples made once for every route: the owner's, with an object of every kind,
    and a stranger's, with objects of every kind too, just not those.

    Each route's requests come from the stranger and fail (404), or are the owner's GETs:
    nothing a test does changes what the next one finds.
    """
    app = create_app(test_settings(tmp_path_factory.mktemp("routes"), database_url_factory()))
    _clean(app)
    owner, partner = Person(app, "owner@example.com", "Anna"), Person(app, "p@example.com", "Bram")
    stranger = Person(app, "cleo@example.com", "Cleo")
    stranger_partner = Person(app, "dirk@example.com", "Dirk")
    for someone in (owner, partner, stranger, stranger_partner):
        someone.register()
    assert partner.join(owner.create_couple()).status_code == 302
    assert stranger_partner.join(stranger.create_couple()).status_code == 302
    for make_own in OWNED_OBJECTS.values():
        make_own(stranger)
    owned = {argument: make_own(owner) for argument, make_own in OWNED_OBJECTS.items()}
    yield app, owner, stranger, owned
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("route", ROUTES_WITH_IDS, ids=_name)
def test_objects_of_another_couple_answer_404(two_couples, route):
    app, owner, stranger, owned = two_couples
    endpoint, method, rule = route
    values = {}
    for argument in rule.arguments:
        if argument in NOT_OBJECT_IDS:
            continue
        assert argument in OWNED_OBJECTS, (
            f"{endpoint} takes <{argument}>: add a factory for it to tests/integration/ownership.py"
        )
        values[argument] = owned[argument]
    url = _url(app, rule, values)

    response = stranger.client.open(url, method=method)
    assert response.status_code == 404, f"{method} {url} answered {response.status_code}"
    if method == "GET":
        assert owner.client.open(url, method=method).status_code != 404
    assert not re.search(re.escape(owner.email), response.text)


@pytest.mark.parametrize("number", BEYOND_THE_DATABASE.values(), ids=BEYOND_THE_DATABASE.keys())
@pytest.mark.parametrize("route", ROUTES_WITH_NUMBERS, ids=_name)
def test_a_number_beyond_the_database_answers_404(app, partners, route, number):
    endpoint, method, rule = route
    owner, _partner = partners
    owner.post("/agreement/start", data={"language": "en", "starter": "basic"})
    numbers = {
        argument: number
        for argument, converter in rule._converters.items()
        if isinstance(converter, IntegerConverter)
    }
    url = _url(app, rule, numbers)
    assert str(number) in url
    response = owner.client.open(url, method=method, data={"version": "1"})
    assert response.status_code == 404, f"{method} {url} answered {response.status_code}"
