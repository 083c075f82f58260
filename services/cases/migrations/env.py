"""Alembic environment for the cases service (async, its own MetaData)."""

from cases.models import Base
from shared.alembic_env import run

run(Base.metadata)
