"""Alembic environment for the outcomes service (async, its own MetaData)."""

from outcomes.models import Base
from shared.alembic_env import run

run(Base.metadata)
