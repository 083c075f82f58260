"""Who may see what in the cases service: the caller, their `Viewer` scope, and the SQL predicates built from it.

Repositories turn a `Viewer` into a `WHERE` clause, so an id the caller may not see is the same 404 as an
unknown id, and a list never loads what it then hides.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, exists, false, or_

from cases.models import Case, Family, FamilyMember, LeadWorkerAssignment, Person, TeamAroundFamily
from shared.auth import Principal


@dataclass(frozen=True)
class Viewer:
    """What a caller may see: the hubs they manage, and the worker they are (for cases they work on)."""

    hubs: tuple[str, ...] = ()
    worker_id: uuid.UUID | None = None
    include_team: bool = True
    """False: only the lead worker (and managers), e.g. for sensitive notes."""


@dataclass(frozen=True)
class Caller:
    """The principal of a request and, when they are a worker here, their worker record."""

    principal: Principal
    worker_id: uuid.UUID | None

    @property
    def is_manager(self) -> bool:
        return self.principal.has_role("hub_manager")

    @property
    def viewer(self) -> Viewer:
        hubs = self.principal.hubs if self.is_manager else ()
        worker = self.worker_id if self.principal.has_role("practitioner", "hub_manager") else None
        return Viewer(hubs=tuple(hubs), worker_id=worker)

    @property
    def lead_viewer(self) -> Viewer:
        """Who may read sensitive notes: the lead worker and the hub's managers (not the wider team)."""
        return Viewer(hubs=self.viewer.hubs, worker_id=self.viewer.worker_id, include_team=False)

    def manages(self, hub: str) -> bool:
        return self.is_manager and self.principal.in_hub(hub)


def case_visible(viewer: Viewer, case: Any = Case) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = []
    if viewer.hubs:
        conditions.append(case.hub.in_(viewer.hubs))
    if viewer.worker_id is not None:
        conditions.append(
            exists().where(
                LeadWorkerAssignment.case_id == case.id,
                LeadWorkerAssignment.worker_id == viewer.worker_id,
                LeadWorkerAssignment.ended_at.is_(None),
            )
        )
        if viewer.include_team:
            conditions.append(
                exists().where(TeamAroundFamily.case_id == case.id, TeamAroundFamily.worker_id == viewer.worker_id)
            )
    return or_(*conditions) if conditions else false()


def family_visible(viewer: Viewer, family_id: Any, family_hub: Any | None = None) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = []
    if viewer.hubs and family_hub is not None:
        conditions.append(family_hub.in_(viewer.hubs))
    conditions.append(exists().where(Case.family_id == family_id, case_visible(viewer)))
    return or_(*conditions)


def person_visible(viewer: Viewer) -> ColumnElement[bool]:
    return exists().where(
        FamilyMember.person_id == Person.id,
        FamilyMember.family_id == Family.id,
        family_visible(viewer, Family.id, Family.hub),
    )
