"""Whether the person index already knows people found elsewhere, and whether their family has an open case.

The intelligence service asks this of the members of a family it identified from partner data, so that a
family already open to early help is shown as such instead of being offered as new. The answer is a status per
person, nothing else: no person id, name or case id leaves the service. A person counts as known when the
calibrated matcher would link them automatically (one identifier owner, or one candidate above the link
threshold with no conflict) — the same rule as a referral's automatic link; a person it would only send to
review counts as not known here, and triage looks again if the family is ever referred.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from cases.models import Person
from cases.people import model
from cases.people.repository import PeopleRepository
from cases.people.schemas import KnownQuery, KnownRead, KnownRequest, KnownResult
from cases.people.service import PeopleService
from shared.auth import Principal

KNOWN_STATUSES = ("open_case", "case_closed", "known_no_case", "not_known")


class KnownService:
    def __init__(self, repo: PeopleRepository, people: PeopleService) -> None:
        self.repo = repo
        self.people = people

    async def _linked(self, query: KnownQuery, thresholds: model.Thresholds) -> Person | None:
        """The one person of the index the matcher links this query to automatically, or None."""
        record = model.Record(
            query.given_name, query.family_name, query.date_of_birth, query.postcode, query.nhs_number, query.upn
        )
        decision, shown = await self.people.score(record, thresholds)
        if decision != "link":
            return None
        person = await self.repo.get_person(shown[0][0])
        return await self.people.survivor(person) if person is not None else None

    async def known(self, request: KnownRequest, *, actor: Principal, thresholds: model.Thresholds) -> KnownResult:
        linked: dict[str, uuid.UUID] = {}
        for query in request.people:
            person = await self._linked(query, thresholds)
            if person is not None:
                linked[query.ref] = person.id
        cases = await self.repo.case_statuses(list(set(linked.values())))
        items = [KnownRead(ref=q.ref, status=_status(linked.get(q.ref), cases)) for q in request.people]
        matched = sorted(set(linked.values()), key=str)
        await self.repo.audit(actor, "match", "person", matched, purpose="known to early help (intelligence)")
        return KnownResult(items=items)


def _status(person: uuid.UUID | None, cases: Mapping[uuid.UUID, Sequence[tuple[bool, str]]]) -> str:
    """open_case when a family the person is in now has a case not closed; case_closed when a family they are or
    were in had a case that closed; known_no_case otherwise."""
    if person is None:
        return "not_known"
    rows = cases.get(person, ())
    if any(current and status != "closed" for current, status in rows):
        return "open_case"
    return "case_closed" if any(status == "closed" for _, status in rows) else "known_no_case"
