import pytest


@pytest.fixture
def ctx(app):
    """An application context: services run in it, with no request."""
    with app.app_context():
        yield app
