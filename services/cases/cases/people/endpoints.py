"""HTTP endpoints of the person index: thin handlers over `PeopleService`."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query, status

from cases.deps import CallerDep, Idempotent, KnownAsker, KnownServiceDep, Matcher, PeopleServiceDep, SettingsDep
from cases.people.model import Thresholds
from cases.people.schemas import (
    KnownRequest,
    KnownResult,
    MatchRequest,
    MatchResult,
    MergeRead,
    MergeRequest,
    PersonCreate,
    PersonRead,
    UnmergeRequest,
)
from cases.schemas import Page
from shared.fields import IDS_LENGTH
from shared.ids import parse_ids

router = APIRouter(prefix="/v1", tags=["cases"])


@router.post("/people/match", summary="Match a person: link, review with ranked candidates, or new")
async def match_people(
    body: MatchRequest, people: PeopleServiceDep, principal: Matcher, settings: SettingsDep
) -> MatchResult:
    thresholds = Thresholds(settings.match_link_threshold, settings.match_review_threshold)
    return await people.match_people(body, actor=principal, limit=settings.match_candidate_limit, thresholds=thresholds)


@router.post(
    "/people/known",
    summary="Whether the index knows each person, and whether their family has an open case (intelligence only)",
)
async def known_people(
    body: KnownRequest, known: KnownServiceDep, principal: KnownAsker, settings: SettingsDep
) -> KnownResult:
    thresholds = Thresholds(settings.match_link_threshold, settings.match_review_threshold)
    return await known.known(body, actor=principal, thresholds=thresholds)


@router.get("/people", summary="People by id (batch)")
async def people(
    people: PeopleServiceDep, caller: CallerDep, ids: str = Query(max_length=IDS_LENGTH)
) -> Page[PersonRead]:
    return Page(items=await people.people(parse_ids(ids, "ids"), caller))


@router.post("/people", status_code=status.HTTP_201_CREATED, summary="Add a person to the index")
async def create_person(
    body: PersonCreate, people: PeopleServiceDep, caller: CallerDep, idempotent: Idempotent
) -> PersonRead:
    return await idempotent.run(PersonRead, lambda: people.create_person(body, caller))


@router.post(
    "/people/{person_id}/merge",
    status_code=status.HTTP_201_CREATED,
    summary="Merge a duplicate into this person",
)
async def merge_person(
    person_id: uuid.UUID, body: MergeRequest, people: PeopleServiceDep, caller: CallerDep, idempotent: Idempotent
) -> MergeRead:
    return await idempotent.run(MergeRead, lambda: people.merge(person_id, body, caller))


@router.post("/people/merges/{merge_id}/undo", summary="Undo a merge")
async def undo_merge(
    merge_id: uuid.UUID, body: UnmergeRequest, people: PeopleServiceDep, caller: CallerDep
) -> MergeRead:
    merge = await people.unmerge(merge_id, body, caller)
    return MergeRead.model_validate(merge, from_attributes=True)


@router.get("/people/{person_id}/merges", summary="Merge history of a person")
async def merges(person_id: uuid.UUID, people: PeopleServiceDep, caller: CallerDep) -> Page[MergeRead]:
    found = await people.merges_of(person_id, caller)
    return Page(items=[MergeRead.model_validate(m, from_attributes=True) for m in found])
