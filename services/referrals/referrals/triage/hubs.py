"""Hub allocation: a referral goes to the hub covering its postcode district (the mapping is data)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from shared.identifiers import postcode_district

HUB_DISTRICTS_FILE = Path(__file__).resolve().parent.parent / "data" / "hub_districts.json"


@dataclass(frozen=True, slots=True)
class HubAllocation:
    hub: str
    defaulted: bool
    """True when the postcode is missing or not covered by any hub, so the default hub took the referral."""


@cache
def district_to_hub(path: Path = HUB_DISTRICTS_FILE) -> dict[str, str]:
    raw: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    mapping: dict[str, str] = {}
    for hub, districts in raw.items():
        if hub.startswith("_") or not isinstance(districts, list):
            continue
        for district in districts:
            mapping[str(district).upper()] = hub
    return mapping


def known_hubs() -> frozenset[str]:
    return frozenset(district_to_hub().values())


def allocate_hub(postcode: str | None, *, default_hub: str) -> HubAllocation:
    if postcode:
        hub = district_to_hub().get(postcode_district(postcode))
        if hub is not None:
            return HubAllocation(hub=hub, defaulted=False)
    return HubAllocation(hub=default_hub, defaulted=True)
