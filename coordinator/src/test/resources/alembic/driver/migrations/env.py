"""Alembic env.py for Lockstep's test projects.

- The database URL comes from the DATABASE_URL environment variable only; without it the run
  stops with a RuntimeError that says so (the seed guide's pitfall: a shell without DATABASE_URL).
- ALEMBIC_TXN_PER_MIGRATION=1 -> transaction_per_migration=True
  (default: Alembic's default, one transaction around the whole run).
- target_metadata is None: no autogenerate, only running the scripts.
- Offline (--sql) mode is supported for the schema revisions.
"""
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

url = os.environ.get("DATABASE_URL")
if not url:
    raise RuntimeError(
        "DATABASE_URL is not set; export it (e.g. DATABASE_URL=postgresql://postgres@127.0.0.1:5432/shop) "
        "before running alembic"
    )
# ConfigParser interpolation: a literal % in the URL (an encoded password) must be doubled.
config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))

target_metadata = None
txn_per_migration = os.environ.get("ALEMBIC_TXN_PER_MIGRATION", "") not in ("", "0", "false")


def run_migrations_offline():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        transaction_per_migration=txn_per_migration,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            transaction_per_migration=txn_per_migration,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
