"""Hub allocation by postcode district, as referrals allocates a referral (the mapping is data, a copy of the
referrals service's: a council loads the same mapping into both)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from shared.identifiers import postcode_district

HUB_DISTRICTS_FILE = Path(__file__).resolve().parent / "data" / "hub_districts.json"


@cache
def district_to_hub() -> dict[str, str]:
    raw: dict[str, object] = json.loads(HUB_DISTRICTS_FILE.read_text(encoding="utf-8"))
    return {
        str(d).upper(): hub
        for hub, districts in raw.items()
        if not hub.startswith("_") and isinstance(districts, list)
        for d in districts
    }


def allocate_hub(postcode: str | None, *, default_hub: str) -> tuple[str, bool]:
    """(hub, defaulted): the hub covering the postcode's district, else the default hub (flagged)."""
    if postcode:
        try:
            hub = district_to_hub().get(postcode_district(postcode))
        except ValueError:
            hub = None
        if hub is not None:
            return hub, False
    return default_hub, True
