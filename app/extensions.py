"""The Flask extensions, created unbound here and bound in `create_app`.

Only construction lives here: no app, no settings. Import these objects
anywhere below the factory without creating an import cycle.
"""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from app.db_types import render_migration_type


class Base(DeclarativeBase):
    """Declarative base with explicit constraint names, so migrations can alter them."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True, render_item=render_migration_type)
login_manager = LoginManager()
csrf = CSRFProtect()
mail = Mail()  # SMTP settings from MAIL_*; emails leave only through app.notify's outbox
# Limits apply only where a view asks for one (the login form); the storage is
# Redis when REDIS_URL is set, so every gunicorn worker shares the counts.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
