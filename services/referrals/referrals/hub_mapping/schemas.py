"""Bodies of the hub mapping: which hub takes the referrals of each postcode district (outward code)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from referrals.fields import Strict
from referrals.models import DISTRICT_PATTERN, HUB_PATTERN

MAX_HUBS = 100
MAX_DISTRICTS = 3000


def district(value: str) -> str:
    """`l8` and ` L8 ` are district L8; a full postcode (`L8 0SY`) or anything else is refused."""
    text = value.strip().upper()
    if not re.fullmatch(DISTRICT_PATTERN, text):
        raise ValueError(f"{value!r} is not a postcode district (an outward code such as L8 or LS16)")
    return text


HubName = Annotated[str, StringConstraints(pattern=HUB_PATTERN)]
District = Annotated[str, StringConstraints(max_length=8), AfterValidator(district)]


class HubMappingUpdate(Strict):
    """The whole mapping, replacing the one in force: each hub and the districts it covers (a district in one hub
    only). Postcodes of districts not listed go to the default hub (`REFERRALS_DEFAULT_HUB`), flagged."""

    hubs: dict[HubName, Annotated[list[District], Field(min_length=1, max_length=MAX_DISTRICTS)]] = Field(
        min_length=1, max_length=MAX_HUBS, description="Hub name (lower case) → its postcode districts"
    )


ReadDistrict = Annotated[str, Field(max_length=4)]


class HubMappingRead(BaseModel):
    hubs: dict[str, Annotated[list[ReadDistrict], Field(max_length=MAX_DISTRICTS)]] = Field(
        description="Hub name → its postcode districts, sorted"
    )
    districts: int = Field(ge=0, le=MAX_DISTRICTS, description="How many districts the mapping covers")
    default_hub: str = Field(max_length=200, description="Where postcodes of any other district go (hub_defaulted)")
    updated_at: datetime | None
    updated_by: str | None = Field(max_length=500, description="Who loaded the mapping in force")
