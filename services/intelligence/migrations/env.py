"""Alembic environment for the intelligence service (async, its own MetaData)."""

from intelligence.models import Base
from shared.alembic_env import run

run(Base.metadata)
