"""Duet: the application factory."""

import gc
import os
from pathlib import Path

from flask import Flask, current_app, has_request_context, render_template, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.middleware.proxy_fix import ProxyFix

from app import config as settings
from app import headers, live
from app.content import ContentError, load_library
from app.extensions import babel, csrf, db, limiter, login, mail, migrate
from app.navigation import IdConverter
from app.outbox import worker as outbox_worker
from app.rate_limits import warn_if_counted_per_process
from app.transaction import unit_of_work

ROOT = Path(__file__).resolve().parent.parent


class SessionInterface(SecureCookieSessionInterface):
    """Session cookies are marked Secure whenever the request came over HTTPS."""

    # Answers that never renew the cookie: the live poll runs every two seconds, and
    # the pages around it renew the session's lifetime often enough; the health check is
    # for machines.
    quiet_endpoints = frozenset({"live.state", "main.healthz"})

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)

    def should_set_cookie(self, app: Flask, session) -> bool:
        if not session.modified and request.endpoint in self.quiet_endpoints:
            return False
        return super().should_set_cookie(app, session)


def create_app(test_config: dict | None = None) -> Flask:
    instance_path = Path(os.environ.get("DUET_INSTANCE_PATH", ROOT / "instance"))
    if test_config and "INSTANCE_PATH" in test_config:
        instance_path = Path(test_config["INSTANCE_PATH"])
    settings.make_instance_folder(instance_path)

    app = Flask(
        __name__,
        instance_path=str(instance_path),
        template_folder=str(ROOT / "templates"),
    )
    app.url_map.converters["int"] = IdConverter
    app.config.update(settings.DEFAULTS)
    app.config["CONTENT_PATH"] = str(ROOT / "agreements")
    app.config.update(settings.from_environment(instance_path))
    if test_config:
        app.config.update(test_config)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = settings.engine_options(app.config)
    settings.check_sqlite_folder(app.config["SQLALCHEMY_DATABASE_URI"])

    warn_if_counted_per_process(app)
    app.session_interface = SessionInterface()

    try:
        app.extensions["duet.content"] = load_library(Path(app.config["CONTENT_PATH"]))
    except ContentError as error:
        # One line naming the file and the field, not a traceback.
        raise SystemExit(f"Duet cannot start: {error}") from None
    _register_upload_limit(app)
    _init_extensions(app)
    _register_blueprints(app)
    live.init_app(app)
    outbox_worker.init_app(app)
    if hops := int(app.config["TRUST_PROXY"]):
        # Only the addresses our own proxies appended. The proxy nearest to us sets the
        # scheme (one value) and passes Host on, so X-Forwarded-Host is never read. In front
        # of the live fast paths too, so they see the scheme the proxy reported.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=1, x_host=0)
    _register_security_headers(app)
    _register_error_handlers(app)

    from app.cli import register_cli
    from app.filters import register_filters
    from app.outbox.cli import register_outbox_cli
    from app.signing.services import report_seal

    register_filters(app)
    register_cli(app)
    register_outbox_cli(app)
    with app.app_context():
        report_seal()
    if not app.testing:
        # What the app loaded lives as long as the process: keep it out of the garbage
        # collector, whose full passes over it (100-150 ms) otherwise land inside other
        # requests' transactions (docs/performance.md, "Write lock").
        gc.freeze()
    return app


def _select_locale() -> str | None:
    if not has_request_context():
        return None  # services run from the CLI or tests speak the default language
    languages = list(current_app.config["LANGUAGES"])
    if current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("locale") in languages:
        return session["locale"]
    return request.accept_languages.best_match(languages)


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    # Batch mode lets later migrations alter tables on SQLite too.
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    mail.init_app(app)
    limiter.init_app(app)
    babel.init_app(
        app,
        locale_selector=_select_locale,
        default_translation_directories=str(ROOT / "app" / "translations"),
    )

    login.init_app(app)
    login.login_view = "accounts.login"
    login.login_message = _l("Please log in to continue.")
    login.login_message_category = "info"

    from app.accounts.services import device_needs_touch, touch_device, user_for_session

    @login.user_loader
    def load_user(session_token: str):
        user = user_for_session(session_token)
        if user is not None and device_needs_touch(user.current_device):
            # Written at most every few minutes, in a transaction of its own that begins
            # as a write (see app/db.py), so a page view never fails on a busy database.
            device_id = user.current_device.id
            with unit_of_work():
                touch_device(device_id)
        return user

    @app.context_processor
    def template_globals():
        from app.main.forms import LanguageForm

        locale = str(get_locale())
        return {
            "current_locale": locale,
            "language_form": LanguageForm(formdata=None, locale=locale, next=request.full_path),
        }


def _register_upload_limit(app: Flask) -> None:
    # Before the extensions' hooks, since CSRF protection reads the form first.
    @app.before_request
    def upload_limit():
        if request.endpoint == "signing.verify":
            request.max_content_length = app.config["VERIFY_MAX_BYTES"] + 64 * 1024


def _register_blueprints(app: Flask) -> None:
    from app import accounts, couple, drafting, main, pause, reflection, review, signing
    from app.accounts import models as _accounts_models  # noqa: F401
    from app.couple import models as _couple_models  # noqa: F401
    from app.drafting import models as _drafting_models  # noqa: F401
    from app.outbox import models as _outbox_models  # noqa: F401
    from app.pause import models as _pause_models  # noqa: F401
    from app.reflection import models as _reflection_models  # noqa: F401
    from app.review import models as _review_models  # noqa: F401
    from app.signing import models as _signing_models  # noqa: F401

    app.register_blueprint(main.bp)
    app.register_blueprint(accounts.bp)
    app.register_blueprint(couple.bp)
    app.register_blueprint(reflection.bp)
    app.register_blueprint(drafting.bp)
    app.register_blueprint(signing.bp)
    app.register_blueprint(pause.bp)
    app.register_blueprint(review.bp)


def _register_security_headers(app: Flask) -> None:
    @app.after_request
    def security_headers(response):
        for name, value in headers.security_headers(request.is_secure):
            if name == "Content-Security-Policy":
                response.headers.setdefault(name, value)  # a view may narrow it
            else:
                response.headers[name] = value
        cache = response.headers.get("Cache-Control", "")
        if request.endpoint != "static" and "public" not in cache:
            # Pages behind login hold private words, and a visit to any page (help, say) is
            # private too: no shared cache, disk copy or back-button copy (docs/safety.md).
            # Only the shipped files and what a view marks public (the seal's certificate).
            response.headers["Cache-Control"] = "no-store"
        return response


def _register_error_handlers(app: Flask) -> None:
    def page(template: str, status: int):
        def handler(error):
            # Whatever the request left half done is undone before the page is rendered.
            db.session.rollback()
            return render_template(template, error=error), status

        return handler

    app.register_error_handler(CSRFError, page("errors/csrf.html", 400))
    for status in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(status, page(f"errors/{status}.html", status))
