"""Quartermaster: the back office of a small wholesale business.

`create_app` builds the Flask app: settings, extensions, blueprints, CLI
commands and error pages, in that order. It never migrates the database or
starts background work; `make run` and the deployment do that explicitly.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app import queue
from app.config import Settings
from app.extensions import csrf, db, limiter, mail, migrate

ROOT_TEMPLATES = "../templates"
ROOT_STATIC = "../static"


def create_app(config: Mapping[str, object] | None = None) -> Flask:
    """Build the app from the environment, or from a complete `config` mapping (tests)."""
    app = Flask(__name__, template_folder=ROOT_TEMPLATES, static_folder=ROOT_STATIC)
    app.config.update(Settings.from_env().flask_config() if config is None else config)

    if app.config["PROXY_HOPS"]:
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=0)  # type: ignore[method-assign]

    db.init_app(app)
    migrate.init_app(app, db)
    limiter.init_app(app)
    mail.init_app(app)
    queue.init_app(app)

    from app import database, models, pipeline  # noqa: F401  (database, models: SQLite settings; every table registered)
    from app.auth import access
    from app.ops import logging as ops_logging
    from app.ops import metrics as ops_metrics
    from app.web import init_app as init_web

    ops_logging.init_app(app)
    ops_metrics.init_app(app)
    access.init_app(app)
    # After the sign-in guard: CSRF parses a POST's body, which an anonymous request never gets to send.
    csrf.init_app(app)
    init_web(app)

    from app.auth.admin_views import bp as users_bp
    from app.auth.views import bp as auth_bp
    from app.classify.model_views import bp as models_bp
    from app.classify.review_views import bp as review_bp
    from app.classify.views import bp as classify_bp
    from app.documents.correspondent_views import bp as correspondents_bp
    from app.documents.views import bp as documents_bp
    from app.main.views import bp as main_bp
    from app.notify.views import bp as notify_bp
    from app.ops.views import bp as ops_bp
    from app.search.views import bp as search_bp
    from app.stock.alert_views import bp as alerts_bp
    from app.stock.order_views import bp as orders_bp
    from app.stock.views import bp as stock_bp

    for blueprint in (
        auth_bp,
        users_bp,
        main_bp,
        ops_bp,
        stock_bp,
        orders_bp,
        documents_bp,
        correspondents_bp,
        classify_bp,
        review_bp,
        models_bp,
        search_bp,
        alerts_bp,
        notify_bp,
    ):
        app.register_blueprint(blueprint)

    from app.auth.cli import users_cli
    from app.classify.cli import categories_cli
    from app.classify.model_cli import model_cli
    from app.demo.cli import demo_cli
    from app.documents.cli import documents_cli
    from app.ops.backup_cli import backup_cli
    from app.search.cli import search_cli
    from app.stock.alert_cli import alerts_cli
    from app.stock.cli import stock_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(stock_cli)
    app.cli.add_command(documents_cli)
    app.cli.add_command(categories_cli)
    app.cli.add_command(model_cli)
    app.cli.add_command(search_cli)
    app.cli.add_command(alerts_cli)
    app.cli.add_command(backup_cli)

    from app.classify import tasks as classify_tasks  # noqa: F401  (task modules register on import)
    from app.documents import tasks as document_tasks  # noqa: F401
    from app.errors import register_error_handlers
    from app.notify import tasks as notify_tasks  # noqa: F401
    from app.ops import tasks  # noqa: F401
    from app.search import indexer, merging, repair  # noqa: F401
    from app.stock import tasks as stock_tasks  # noqa: F401

    pipeline.init_app(app)
    register_error_handlers(app)
    return app
