"""Thin HTTP handlers of the hub mapping (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from referrals.deps import SettingsDep
from referrals.hub_mapping.cases_hubs import hubs_of_cases
from referrals.hub_mapping.repository import HubMappingRepository
from referrals.hub_mapping.schemas import HubMappingRead, HubMappingUpdate
from referrals.hub_mapping.service import read_mapping, replace_mapping
from shared.auth import Principal, require_roles
from shared.db import SessionDep

router = APIRouter(prefix="/v1/admin", tags=["admin"])
Admin = Annotated[Principal, Depends(require_roles("admin"))]


@router.get("/hub-mapping", summary="The hub postcode mapping in force (admins)")
async def get_hub_mapping(session: SessionDep, settings: SettingsDep, principal: Admin) -> HubMappingRead:
    return await read_mapping(HubMappingRepository(session), default_hub=settings.default_hub)


@router.put(
    "/hub-mapping",
    summary="Replace the hub postcode mapping (admins, audited); the next referral is allocated by it",
    responses={
        422: {
            "description": "A district or hub name is malformed, a district is under two hubs, or a hub is not one "
            "the cases service serves (each named)"
        },
        503: {"description": "The cases service did not list its hubs: nothing is stored"},
    },
)
async def put_hub_mapping(
    payload: HubMappingUpdate, session: SessionDep, settings: SettingsDep, principal: Admin, request: Request
) -> HubMappingRead:
    timeout = settings.caseload_timeout_seconds
    known = await hubs_of_cases(request.app.state.http, settings.cases_url, principal, timeout=timeout)
    return await replace_mapping(
        HubMappingRepository(session), payload, actor=principal, default_hub=settings.default_hub, known_hubs=known
    )
