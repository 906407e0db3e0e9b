"""Alembic env.py of the demo app (shaped like Open WebUI's: the settings come from the environment).

It needs two variables and stops with a message naming the one that is missing:
- DATABASE_URL, the database to migrate (under Lockstep: always the coordinator's --database-url);
- WEBUI_SECRET_KEY, which the app's settings module reads at import, as Open WebUI's does; under
  Lockstep it comes from --engine-env-file (the app's .env) or --engine-env.
The whole run is one transaction (Alembic's default), so a failing revision leaves the schema as it was.
"""
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import engine_from_config, pool


def required(name, example):
    try:
        return os.environ[name]
    except KeyError as missing:
        # The KeyError stays in the traceback (Lockstep reads it to name the variable); this line says what to do.
        raise RuntimeError(
            f"env.py: the environment variable {name} is not set; export it (e.g. {name}={example}) "
            "in the shell that runs alembic, or give it to Lockstep with --engine-env / --engine-env-file"
        ) from missing


config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

url = required("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/webui")
secret_key = required("WEBUI_SECRET_KEY", "$(openssl rand -hex 32)")  # the app's settings need it; unused below
# ConfigParser interpolation: a literal % in the URL (an encoded password) must be doubled.
config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
target_metadata = None


def run_migrations_offline():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    connectable = engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.",
                                     poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
