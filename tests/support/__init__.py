"""Test support, kept out of the production packages: a real PostgreSQL (`database`), signed tokens (`tokens`),
apps in process or on a port (`apps`), real service processes (`processes`) and test data (`factories`).

The names most tests need are importable from `tests.support` itself.
"""

from tests.support.apps import app_client, free_port, serve_asgi
from tests.support.database import (
    REPO_ROOT,
    TEST_DATA_DIR,
    clone_database,
    drop_database,
    migrated_database,
    pg_server_url,
    rollback_sessionmaker,
)
from tests.support.processes import (
    ServiceProcess,
    ServiceProcesses,
    common_test_env,
    referrals_and_cases,
    services_up,
)
from tests.support.tokens import TEST_KEY_PATH, auth, make_token

__all__ = [
    "REPO_ROOT",
    "TEST_DATA_DIR",
    "TEST_KEY_PATH",
    "ServiceProcess",
    "ServiceProcesses",
    "app_client",
    "auth",
    "clone_database",
    "common_test_env",
    "drop_database",
    "free_port",
    "make_token",
    "migrated_database",
    "pg_server_url",
    "referrals_and_cases",
    "rollback_sessionmaker",
    "serve_asgi",
    "services_up",
]
