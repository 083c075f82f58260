"""Thin HTTP handlers of identified families: the list, one family's need profile, the decision, the
commissioning need profile."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from intelligence.access import hub_scope
from intelligence.deps import Analyst, Decider, FamiliesServiceDep, FamilyReader
from intelligence.families.schemas import DecisionCreate, IdentifiedFamilyPage, IdentifiedFamilyRead, NeedProfileRead
from shared.fields import CODE_LENGTH, CURSOR_LENGTH
from shared.pagination import AFTER, BEFORE, FROM_END, Window, int32

router = APIRouter(prefix="/v1")
FAMILY_CURSOR = (int32, date.fromisoformat, uuid.UUID)
"""The list's keyset: number of needs, latest evidence (the earliest date when none), id."""


@router.get(
    "/identified-families",
    tags=["identified families"],
    summary="Identified families, ranked by number of needs and recency (a hub manager sees their hubs only)",
)
async def list_identified_families(
    families: FamiliesServiceDep,
    principal: FamilyReader,
    hub: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[
        str | None,
        Query(max_length=CODE_LENGTH, description="identified, statutory, open_case, referred, not_now or dismissed"),
    ] = None,
    first: Annotated[int, Query(ge=1, le=100)] = 25,
    after: Annotated[str | None, Query(max_length=CURSOR_LENGTH, description=AFTER)] = None,
    before: Annotated[str | None, Query(max_length=CURSOR_LENGTH, description=BEFORE)] = None,
    from_end: Annotated[bool, Query(description=FROM_END)] = False,
) -> IdentifiedFamilyPage:
    window = Window.of(
        limit=first, after=after, before=before, from_end=from_end, parsers=FAMILY_CURSOR, after_name="after"
    )
    return await families.page(principal, hub_scope(principal), hub=hub, status=status, window=window)


@router.get(
    "/identified-families/{family_id}",
    tags=["identified families"],
    summary="One identified family: members (with why each is in the household) and needs with their evidence",
)
async def get_identified_family(
    family_id: uuid.UUID, families: FamiliesServiceDep, principal: FamilyReader
) -> IdentifiedFamilyRead:
    return await families.get(principal, hub_scope(principal), family_id)


@router.post(
    "/identified-families/{family_id}/decision",
    tags=["identified families"],
    summary="The human decision: refer (a referral of kind intelligence goes to triage), not now, or dismiss",
)
async def decide_identified_family(
    family_id: uuid.UUID, body: DecisionCreate, families: FamiliesServiceDep, principal: Decider
) -> IdentifiedFamilyRead:
    return await families.decide(principal, hub_scope(principal), family_id, body)


@router.get(
    "/need-profile",
    tags=["commissioning"],
    summary="Need prevalence and the needs that occur together, by hub and postcode district, over time (counts "
    "only; counts from 1 to 4 suppressed)",
)
async def need_profile(
    families: FamiliesServiceDep,
    principal: Analyst,
    hub: Annotated[str | None, Query(max_length=64)] = None,
    postcode_district: Annotated[str | None, Query(max_length=8)] = None,
) -> NeedProfileRead:
    return await families.profile(principal, hub=hub, district=postcode_district)
