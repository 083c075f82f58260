"""The team around the family: who works with the family beside the lead worker, and so who may see the case.

The team is the case's access list, so changing it is its own operation (not part of writing the plan): only
the lead worker and the hub's managers change it, every change is written to the access log with its reason,
and the active plan shows the team as it now is. A change of the team is a change of the case: like closing it, it
needs `If-Match` with the case's ETag (428 without, 412 stale) and moves the case to its next version.
"""

from __future__ import annotations

import uuid

from cases.access import Caller
from cases.casework.planning import team_json
from cases.casework.repository import CaseworkRepository
from cases.casework.schemas import TeamMember, TeamRead, TeamUpdate
from cases.casework.service import CaseworkService, case_etag, require_current
from cases.workforce.repository import WorkforceRepository
from shared.errors import UnprocessableContent, field_error


class TeamService:
    def __init__(self, repo: CaseworkRepository, *, casework: CaseworkService, workforce: WorkforceRepository) -> None:
        self.repo = repo
        self.casework = casework
        self.workforce = workforce

    async def replace_team(
        self, case_id: uuid.UUID, body: TeamUpdate, caller: Caller, *, if_match: str | None
    ) -> tuple[TeamRead, str]:
        """The team as it now is, and the case's new ETag."""
        case = await self.casework.visible_case(case_id, caller)  # locks the case row: one change at a time
        await self.casework.require_lead_or_manager(case, caller, "Changing the team around the family")
        self.casework.require_open(case)
        action = "Changing the team around the family"
        require_current(if_match, case_etag(case), action, "The case has changed since you read it")
        ids = [t.worker_id for t in body.team]
        known = await self.workforce.existing_worker_ids(ids) if ids else set()
        errors = [field_error(f"/team/{i}/worker_id", "no such worker") for i, w in enumerate(ids) if w not in known]
        if len(set(ids)) != len(ids):
            errors.append(field_error("/team", "each worker may appear once"))
        if errors:
            raise UnprocessableContent("The team is not valid for this case", errors=errors)
        before = {(t.worker_id, t.role) for t in await self.repo.team_of(case.id)}
        await self.repo.replace_team(case.id, [(t.worker_id, t.role) for t in body.team])
        team = await self.repo.team_of(case.id)
        await self.repo.set_active_plan_team(case.id, team_json(team))
        await self.repo.touch_case(case)
        after = {(t.worker_id, t.role) for t in team}
        added = sorted(str(w) for w, _ in after - before)
        removed = sorted(str(w) for w, _ in before - after)
        await self.repo.audit(
            caller.principal,
            "update",
            "case",
            [case.id],
            purpose=f"team around the family changed (added {added}, removed {removed}): {body.reason}",
        )
        read = TeamRead(case_id=case.id, team=[TeamMember(worker_id=t.worker_id, role=t.role) for t in team])
        return read, case_etag(case)

    async def team(self, case_id: uuid.UUID, caller: Caller) -> tuple[TeamRead, str]:
        """The team, and the case's ETag (what a change of the team sends back in `If-Match`)."""
        case = await self.casework.visible_case(case_id, caller, for_update=False)
        await self.repo.audit(caller.principal, "read", "case", [case.id], purpose="team around the family")
        team = await self.repo.team_of(case.id)
        read = TeamRead(case_id=case.id, team=[TeamMember(worker_id=t.worker_id, role=t.role) for t in team])
        return read, case_etag(case)
