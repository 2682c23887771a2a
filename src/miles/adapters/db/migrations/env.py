"""Alembic environment: the URL comes from the caller (miles.adapters.db.migrate) or MILES_DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from miles.adapters.db.engine import sqlalchemy_url
from miles.config import database_url_or_none

config = context.config


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url") or database_url_or_none()
    if not url:
        raise SystemExit(
            "set MILES_DATABASE_URL (or use `miles db upgrade`, which starts the embedded database)"
        )
    engine = create_engine(sqlalchemy_url(url))
    with engine.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
