"""Alembic environment for the referrals service (async, its own MetaData)."""

from referrals.models import Base
from shared.alembic_env import run

run(Base.metadata)
