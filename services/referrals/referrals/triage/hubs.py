"""Hub allocation: a referral goes to the hub covering its postcode district.

The mapping is data in the referrals database (`hub_districts`, loaded by an admin: `PUT /v1/admin/hub-mapping`,
`earlyhelp hubs load FILE`) and read by every new referral, so a new mapping applies without a restart. The package
file `data/hub_districts.json` is the demo Leeds mapping the first migration loads and the demo seeder draws
postcodes from; `examples/hub-mapping/` holds councils' examples in the same format."""

from __future__ import annotations

import json
from collections.abc import Mapping
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


def district_of(postcode: str | None) -> str | None:
    return postcode_district(postcode) if postcode else None


def allocate_hub(postcode: str | None, *, default_hub: str, mapping: Mapping[str, str] | None = None) -> HubAllocation:
    """The hub of `postcode`'s district in `mapping` (by default the package's demo mapping), else the default."""
    district = district_of(postcode)
    if district is not None:
        hub = (district_to_hub() if mapping is None else mapping).get(district)
        if hub is not None:
            return HubAllocation(hub=hub, defaulted=False)
    return HubAllocation(hub=default_hub, defaulted=True)
