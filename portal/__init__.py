"""The Call for the Pin portal: create_app() builds the Flask application."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import logs
from portal import settings as settings_module
from portal.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(
    test_config: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    settings = settings_module.load(Path(app.instance_path), environ)
    configure(app, settings)
    if settings.trusted_proxies:
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    if test_config:
        app.config.update(test_config)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    logs.init_app(app)  # last: the request log wraps every other middleware
    return app


def configure(app: Flask, settings: Settings) -> None:
    app.config.update(
        PORTAL_SETTINGS=settings,
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        # A connection the server dropped (a failover, a restart) is replaced, not used.
        # An error's text leaves out the statement's values (emails, names), as logs must.
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "hide_parameters": True},
        BABEL_TRANSLATION_DIRECTORIES=str(PROJECT_ROOT / "translations"),
        BABEL_DEFAULT_LOCALE="en",
        SESSION_COOKIE_SECURE=settings.production,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        # A CSRF token lives as long as the session, so a form left open for a long
        # time (or a console tab open all shift) still submits.
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=26 * 1024 * 1024,  # a 25 MB photo and the form around it
    )


def register_extensions(app: Flask) -> None:
    from portal import database, i18n, security
    from portal.agency import load_agency
    from portal.crypto import Vault
    from portal.extensions import babel, csrf, db, migrate
    from portal.ratelimit import RateLimiter

    settings: Settings = app.config["PORTAL_SETTINGS"]
    app.extensions["vault"] = Vault(settings.encryption_keys, settings.hash_key)
    register_models()
    db.init_app(app)
    with app.app_context():
        database.configure_sqlite(db.engine)
    migrate.init_app(app, db, directory=str(Path(__file__).with_name("migrations")), render_as_batch=True)
    csrf.init_app(app)
    app.extensions["agency"] = agency = load_agency(settings.agency_file)
    # Read by Flask-Babel in init_app only: times are shown in the agency's time zone.
    app.config["BABEL_DEFAULT_TIMEZONE"] = agency.timezone
    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.init_app(app)
    security.init_app(app)
    app.extensions["rate_limiter"] = RateLimiter(settings.redis_url)
    app.jinja_env.filters["without_empty"] = lambda attrs: {
        key: value for key, value in attrs.items() if value
    }


def register_models() -> None:
    """Import every module that defines tables, so that migrations and queries see them."""
    import portal.api.clients
    import portal.audit
    import portal.console.models
    import portal.dispatch.follow_ups
    import portal.dispatch.handoffs
    import portal.dispatch.models
    import portal.dispatch.plan_links
    import portal.messaging.outbox
    import portal.plans.models
    import portal.sms.models
    import portal.worker  # noqa: F401


def register_blueprints(app: Flask) -> None:
    from portal import api, console, health, plans, public, responders
    from portal.extensions import csrf
    from portal.sms import webhook

    app.register_blueprint(public.bp)
    app.register_blueprint(plans.bp)
    app.register_blueprint(console.bp)
    app.register_blueprint(responders.bp)
    app.register_blueprint(webhook.bp)
    app.register_blueprint(api.bp)
    # The exemptions from CSRF protection: Twilio's webhooks, which are checked by their
    # X-Twilio-Signature instead, and the API, whose clients send a bearer token, never
    # a cookie.
    csrf.exempt(webhook.bp)
    csrf.exempt(api.bp)
    if not app.config["PORTAL_SETTINGS"].production:
        from portal.sms import simulator

        app.register_blueprint(simulator.bp)
    app.register_blueprint(health.bp)


def register_errorhandlers(app: Flask) -> None:
    from portal import errors

    errors.init_app(app)


def register_commands(app: Flask) -> None:
    from portal import backup, demo, jobs, keys, worker
    from portal.api import clients
    from portal.console import admin_views

    admin_views.init_app(app)
    clients.init_app(app)
    backup.init_app(app)
    demo.init_app(app)
    keys.init_app(app)
    jobs.init_app(app)
    worker.init_app(app)
