"""The PostgreSQL server the platform uses: `DATABASE_URL` when set, otherwise an embedded one (pgserver)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from earlyhelp.platform import DATA_DIR, SERVICES
from shared.migrate import ensure_database_sync, upgrade, with_database


class Server:
    """A PostgreSQL server URL, and the embedded server's handle when we started one."""

    def __init__(self, url: str, handle: Any = None) -> None:
        self.url = url
        self.handle = handle

    @property
    def embedded(self) -> bool:
        return self.handle is not None

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.cleanup()
            self.handle = None


def open_server(data_dir: Path = DATA_DIR) -> Server:
    """Use `DATABASE_URL` when it names a server; otherwise start (or join) the embedded one in `.data/pg`."""
    explicit = os.environ.get("DATABASE_URL")
    if explicit:
        return Server(explicit)
    runtime = data_dir / "runtime"
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    import pgserver

    logging.getLogger("pgserver").setLevel(logging.WARNING)
    handle = pgserver.get_server(str(data_dir / "pg"), cleanup_mode="stop")
    return Server(str(handle.get_uri()), handle)


def migrate_all(server_url: str, names: dict[str, str] | None = None) -> list[str]:
    """Create each service's database if missing and bring it to head. Returns the databases created."""
    created = []
    for service in SERVICES:
        assert service.service_dir is not None
        name = (names or {}).get(service.name, service.database)
        if ensure_database_sync(server_url, name):
            created.append(name)
        upgrade(service.service_dir, with_database(server_url, name))
    return created
