"""Where the platform's parts live and how each is started: the one table the CLI and tests share."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from shared.migrate import with_database

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("EARLYHELP_DATA_DIR", REPO_ROOT / ".data"))


@dataclass(frozen=True)
class Part:
    name: str
    prefix: str
    default_port: int
    app: str
    service_dir: Path | None  # None for the gateway, which owns no database

    @property
    def database(self) -> str:
        return f"earlyhelp_{self.name}"

    @property
    def port(self) -> int:
        return int(os.environ.get(f"{self.prefix}_PORT", self.default_port))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


REFERRALS = Part("referrals", "REFERRALS", 8001, "referrals.app:create_app", REPO_ROOT / "services" / "referrals")
CASES = Part("cases", "CASES", 8002, "cases.app:create_app", REPO_ROOT / "services" / "cases")
OUTCOMES = Part("outcomes", "OUTCOMES", 8003, "outcomes.app:create_app", REPO_ROOT / "services" / "outcomes")
INTELLIGENCE = Part(
    "intelligence", "INTELLIGENCE", 8004, "intelligence.app:create_app", REPO_ROOT / "services" / "intelligence"
)
GATEWAY = Part("gateway", "GATEWAY", 8000, "gateway.app:create_app", None)
SERVICES = (REFERRALS, CASES, OUTCOMES, INTELLIGENCE)
PARTS = (*SERVICES, GATEWAY)
BY_NAME = {p.name: p for p in PARTS}

# Who hears which events (see docs/contracts.md).
RIGHTS_EVENTS = ["family.legal_hold_placed", "family.legal_hold_released", "person.erased", "person.rectified"]
SUBSCRIPTIONS: dict[str, list[tuple[str, list[str]]]] = {
    "referrals": [("cases", ["referral.accepted", "referral.consent_withdrawn"])],
    "cases": [
        ("referrals", ["case.opened", "case.joined", *RIGHTS_EVENTS]),
        ("outcomes", ["case.assessment_completed", "case.closed", *RIGHTS_EVENTS]),
    ],
    "outcomes": [],
    "intelligence": [("referrals", ["intelligence.family_referred"])],
}


def subscribers_json(service: str, ports: dict[str, int]) -> str:
    return json.dumps(
        [
            {"name": target, "url": f"http://127.0.0.1:{ports[target]}/v1/events", "event_types": types}
            for target, types in SUBSCRIPTIONS[service]
        ]
    )


def process_env(
    part: Part,
    *,
    server_url: str,
    ports: dict[str, int],
    key_path: Path,
    data_dir: Path,
    environment: str = "development",
    database_names: dict[str, str] | None = None,
) -> dict[str, str]:
    """The environment for one part's process: its database, port, key, peers and subscribers."""
    p = part.prefix
    env = {
        f"{p}_PORT": str(ports[part.name]),
        f"{p}_ENVIRONMENT": environment,
        f"{p}_DEV_KEY_PATH": str(key_path),
        f"{p}_DATA_DIR": str(data_dir),
    }
    if part.service_dir is not None:
        name = (database_names or {}).get(part.name, part.database)
        env[f"{p}_DATABASE_URL"] = with_database(server_url, name)
        env[f"{p}_SUBSCRIBERS"] = subscribers_json(part.name, ports)
    for peer in PARTS:
        if peer is not part and peer is not GATEWAY:
            env[f"{p}_{peer.prefix}_URL"] = f"http://127.0.0.1:{ports[peer.name]}"
    return env
