"""The rules of the person index: matching, lookups, and merges of duplicates (and undoing them).

Hub managers work only on people of their hubs' families: anyone else is the same 404 as an unknown id.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from cases.access import Caller
from cases.kit import today
from cases.models import Person, PersonMerge
from cases.people import matching, model
from cases.people.repository import PeopleRepository
from cases.people.schemas import (
    FieldWeightRead,
    MatchCandidate,
    MatchRequest,
    MatchResult,
    MergeRequest,
    PersonCreate,
    PersonRead,
    UnmergeRequest,
)
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, NotFound, UnprocessableContent, field_error


def person_read(person: Person) -> PersonRead:
    return PersonRead.model_validate(person, from_attributes=True)


def person_record(person: Person) -> model.Record:
    return model.Record(
        person.given_name, person.family_name, person.date_of_birth, person.postcode, person.nhs_number, person.upn
    )


def _candidate(person: Person, comparison: model.Comparison, *, linked: bool) -> MatchCandidate:
    band = "conflict" if comparison.conflict else "link" if linked else "review"
    return MatchCandidate(
        person=person_read(person),
        score=round(comparison.probability, 6),
        match_weight=comparison.weight,
        band=band,
        conflict=comparison.conflict,
        fields=[FieldWeightRead(**f.as_dict()) for f in comparison.fields],
        reasons=comparison.reasons,
    )


def person_values(
    *,
    given_name: str,
    family_name: str,
    date_of_birth: date | None,
    nhs_number: str | None,
    upn: str | None,
    postcode: str | None,
    address: str | None,
) -> dict[str, Any]:
    return {
        "given_name": given_name,
        "family_name": family_name,
        "date_of_birth": date_of_birth,
        "nhs_number": nhs_number,
        "upn": upn,
        "postcode": postcode,
        "address": address,
        "given_key": matching.name_key(given_name),
        "family_key": matching.name_key(family_name),
    }


class PeopleService:
    def __init__(self, repo: PeopleRepository) -> None:
        self.repo = repo

    async def survivor(self, person: Person) -> Person:
        seen: set[uuid.UUID] = set()
        while person.merged_into_id is not None and person.id not in seen:
            seen.add(person.id)
            survivor = await self.repo.get_person(person.merged_into_id)
            if survivor is None:
                break
            person = survivor
        return person

    async def current(self, person_id: uuid.UUID) -> Person | None:
        """The person, or the survivor they were merged into; None for an unknown id."""
        person = await self.repo.get_person(person_id)
        return await self.survivor(person) if person is not None else None

    async def insert(self, body: PersonCreate) -> Person | None:
        """A new person in the index; None when their NHS number or UPN is already held."""
        return await self.repo.insert_person(person_values(**body.model_dump()))

    async def match_people(
        self, request: MatchRequest, *, actor: Principal, limit: int, thresholds: model.Thresholds
    ) -> MatchResult:
        """Block, score with the calibrated model, decide: link one person, send candidates to review, or new."""
        result = await self._match(request, limit=limit, thresholds=thresholds)
        await self.repo.audit(actor, "match", "person", [c.person.id for c in result.candidates], "person matching")
        return result

    async def match_batch(
        self, requests: Sequence[MatchRequest], *, actor: Principal, limit: int, thresholds: model.Thresholds
    ) -> list[MatchResult]:
        """Match each person as `match_people` does, in order; one audit row names every person shown."""
        results = [await self._match(r, limit=limit, thresholds=thresholds) for r in requests]
        shown = list(dict.fromkeys(c.person.id for result in results for c in result.candidates))
        await self.repo.audit(actor, "match", "person", shown, "person matching")
        return results

    async def score(
        self, query: model.Record, thresholds: model.Thresholds
    ) -> tuple[str, list[tuple[uuid.UUID, model.Comparison]]]:
        """Block, screen and score with the calibrated model: the decision (`model.outcome`) and the people it
        shows, best first, each with their comparison (ids as found, before following merges).

        The owners of the query's identifiers come first, then the block; `model.Screen` leaves out, before the
        full comparison, the people who could be neither shown nor linked (the outcome is the same without them).
        """
        found: dict[uuid.UUID, model.Record] = {}
        for person in await self.repo.people_by_identifiers(query.nhs_number, query.upn):
            # the identifier's owner is compared with their own details (a survivor may hold other identifiers)
            found.setdefault(person.id, person_record(person))
        if query.date_of_birth is not None:
            for person_id, record in await self.repo.match_block(
                date_of_birth=query.date_of_birth,
                postcode=query.postcode,
                keys=matching.blocking_keys(query.given_name, query.family_name),
                limit=2000,
            ):
                found.setdefault(person_id, record)
        trained = model.load_model()
        screen = model.Screen(trained, query, thresholds)
        ids = [person_id for person_id, record in found.items() if screen.may_matter(record)]
        comparisons = [trained.compare(query, found[person_id]) for person_id in ids]
        decision, shown = model.outcome(comparisons, thresholds)
        return decision, [(ids[i], comparisons[i]) for i in shown]

    async def _match(self, request: MatchRequest, *, limit: int, thresholds: model.Thresholds) -> MatchResult:
        query = model.Record(
            request.given_name, request.family_name, request.date_of_birth, request.postcode, request.nhs_number,
            request.upn,
        )  # fmt: skip
        decision, shown = await self.score(query, thresholds)
        people = {p.id: p for p in await self.repo.people_by_ids([person_id for person_id, _ in shown], None)}
        candidates: list[MatchCandidate] = []
        seen: set[uuid.UUID] = set()
        for person_id, comparison in shown:
            person = people.get(person_id)
            if person is None:  # erased since it was read
                continue
            survivor = await self.survivor(person)
            if survivor.id in seen:
                continue
            seen.add(survivor.id)
            candidates.append(_candidate(survivor, comparison, linked=decision == "link" and not candidates))
        candidates = candidates[:limit]
        exact = [candidates[0].person] if decision == "link" else []
        return MatchResult(decision=decision, exact=exact, candidates=candidates)

    async def people(self, ids: Sequence[uuid.UUID], caller: Caller) -> list[PersonRead]:
        people = await self.repo.people_by_ids(ids, caller.viewer)
        await self.repo.audit(caller.principal, "read", "person", [p.id for p in people])
        return [person_read(p) for p in people]

    async def create_person(self, body: PersonCreate, caller: Caller) -> PersonRead:
        if not caller.is_manager:
            raise Forbidden("Only hub managers add people to the index directly")
        person = await self.repo.insert_person(person_values(**body.model_dump()))
        if person is None:
            raise Conflict("A person with this NHS number or UPN is already in the index; use the match API")
        await self.repo.audit(caller.principal, "create", "person", [person.id])
        return person_read(person)

    async def merge(self, survivor_id: uuid.UUID, body: MergeRequest, caller: Caller) -> PersonMerge:
        if not caller.is_manager:
            raise Forbidden("Only hub managers merge people")
        if survivor_id == body.merge_person_id:
            raise UnprocessableContent(
                "A person cannot be merged into themselves",
                errors=[field_error("/merge_person_id", "must differ from the person in the path")],
            )
        await self.repo.lock([f"person:{survivor_id}", f"person:{body.merge_person_id}"])
        survivor = await self.repo.get_person(survivor_id)
        duplicate = await self.repo.get_person(body.merge_person_id)
        if survivor is None or duplicate is None:
            raise NotFound("No such person")
        # An already-merged duplicate belongs to no family any more: its survivor must be visible, so that the
        # 409 below is no oracle for ids the caller cannot see (finding A).
        await self.require_visible_people(caller, [survivor.id, (await self.survivor(duplicate)).id])
        if survivor.merged_into_id is not None:
            raise Conflict("The surviving person has itself been merged; merge into its survivor instead")
        if duplicate.merged_into_id is not None:
            raise Conflict("That person is already merged")
        if survivor.nhs_number and duplicate.nhs_number and survivor.nhs_number != duplicate.nhs_number:
            raise Conflict("The two people have different NHS numbers and cannot be the same person")
        if survivor.upn and duplicate.upn and survivor.upn != duplicate.upn:
            raise Conflict("The two people have different UPNs and cannot be the same person")
        families = await self.repo.current_families([survivor.id, duplicate.id])
        if len(families) > 1:
            raise Conflict(
                "The two people are members of different families; merge the families first "
                "(POST /v1/families/{id}/merge), so that no person is in two families"
            )
        moved = await self.repo.repoint_people(duplicate.id, survivor.id, today=today())
        await self.repo.set_merged_into(duplicate.id, survivor.id)
        merge = PersonMerge(
            id=uuid.uuid4(),
            survivor_id=survivor.id,
            merged_id=duplicate.id,
            reason=body.reason,
            merged_by=caller.principal.actor,
            moved=moved,
        )
        if not await self.repo.add_merge(merge):
            raise Conflict("That person is already merged")
        await self.repo.audit(caller.principal, "merge", "person", [survivor.id, duplicate.id], purpose=body.reason)
        return merge

    async def unmerge(self, merge_id: uuid.UUID, body: UnmergeRequest, caller: Caller) -> PersonMerge:
        if not caller.is_manager:
            raise Forbidden("Only hub managers undo merges")
        merge = await self.repo.get_merge(merge_id)
        if merge is None:
            raise NotFound("No such merge")
        await self.require_visible_people(caller, [merge.survivor_id])
        if merge.undone_at is not None:
            raise Conflict("This merge has already been undone")
        await self.repo.lock([f"person:{merge.survivor_id}", f"person:{merge.merged_id}"])
        await self.repo.undo_repoint(merge.moved, merge.merged_id)
        await self.repo.set_merged_into(merge.merged_id, None)
        merge.undone_at = datetime.now(UTC)
        merge.undone_by = caller.principal.actor
        merge.undo_reason = body.reason
        await self.repo.flush()
        await self.repo.audit(
            caller.principal, "unmerge", "person", [merge.survivor_id, merge.merged_id], purpose=body.reason
        )
        return merge

    async def is_visible(self, person_id: uuid.UUID, caller: Caller) -> bool:
        """Whether the caller may see the person (a member of a family of their hubs or their caseload)."""
        return bool(await self.repo.people_by_ids([person_id], caller.viewer))

    async def require_visible_people(self, caller: Caller, ids: Sequence[uuid.UUID]) -> None:
        """A manager works only on people of their hubs' families: others are 404 (ids are not disclosed)."""
        visible = {p.id for p in await self.repo.people_by_ids(ids, caller.viewer)}
        if not set(ids) <= visible:
            raise NotFound("No such person")

    async def merges_of(self, person_id: uuid.UUID, caller: Caller) -> list[PersonMerge]:
        if not caller.is_manager:
            raise Forbidden("Only hub managers read merge history")
        await self.require_visible_people(caller, [person_id])
        await self.repo.audit(caller.principal, "read", "person", [person_id], purpose="merge history")
        return await self.repo.merges_of(person_id)
