"""The rules of identified families: who sees which (their hub's, or all for analysts), the ranked list, the
need profile, and the human decision — refer, not now, or dismiss with a reason — which alone ever refers a
family (UK GDPR Article 22: no decision about a family is made by the data alone). A referral is an event,
`intelligence.family_referred`, written to the outbox in the decision's transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from intelligence.access import HubScope
from intelligence.families.profile import build_profile
from intelligence.families.repository import FamiliesRepository
from intelligence.families.schemas import (
    DecisionCreate,
    IdentifiedFamilyPage,
    IdentifiedFamilyRead,
    NeedProfileRead,
)
from intelligence.models import IdentifiedFamily
from shared.auth import Principal
from shared.contracts.events import FamilyReferred
from shared.errors import Conflict, Forbidden, NotFound, UnprocessableContent, field_error
from shared.pagination import Slice, Window

STATUSES = ("identified", "statutory", "open_case", "referred", "not_now", "dismissed")
DECIDABLE = ("identified", "not_now")
STATUS_OF = {"refer": "referred", "not_now": "not_now", "dismiss": "dismissed"}
LAWFUL_BASIS = "6(1)(e)"


def _role(date_of_birth: date, today: date) -> str:
    age = (today - date_of_birth).days // 365
    return "parent_carer" if age >= 18 else "young_person" if age >= 16 else "child"


def referred_payload(
    family: IdentifiedFamily, principal: Principal, decided_at: datetime, reason: str | None
) -> FamilyReferred:
    today = decided_at.date()
    people = [
        {
            "role": _role(date.fromisoformat(m["date_of_birth"]), today),
            "given_name": m["given_name"],
            "family_name": m["family_name"],
            "date_of_birth": m["date_of_birth"],
            "nhs_number": m.get("nhs_number"),
            "upn": m.get("upn"),
            "postcode": family.postcode,
            "address": family.address_line,
            "reason": m["reason"],
        }
        for m in family.members
        if m.get("date_of_birth") and m.get("given_name") and m.get("family_name")
    ]
    evidence = [
        {k: e[k] for k in ("dataset", "source_agency", "record_id", "date", "shows")} | {"need": n["code"]}
        for n in family.needs
        for e in n["evidence"]
    ]
    return FamilyReferred(
        identified_family_id=family.id,
        hub=family.hub,
        hub_defaulted=family.hub_defaulted,
        framework=family.framework,
        needs=[n["code"] for n in family.needs],
        evidence=evidence,
        postcode=family.postcode,
        address=family.address_line,
        people=people,
        reason=reason,
        decided_by=principal.actor,
        decided_at=decided_at,
        lawful_basis=LAWFUL_BASIS,
    )


class FamiliesService:
    def __init__(self, repo: FamiliesRepository) -> None:
        self.repo = repo

    async def page(
        self,
        principal: Principal,
        scope: HubScope,
        *,
        hub: str | None,
        status: str | None,
        window: Window,
    ) -> IdentifiedFamilyPage:
        if hub and not scope.admits(hub):
            raise Forbidden(f"You may see the identified families of your own hubs only, not {hub!r}")
        if status and status not in STATUSES:
            raise UnprocessableContent(
                f"Unknown status {status!r}", errors=[field_error("#query/status", "one of " + ", ".join(STATUSES))]
            )
        page = Slice.of(window, await self.repo.page(scope, hub=hub, status=status, window=window))
        items = page.rows
        await self.repo.audit(principal, "read", "identified_family", [f.id for f in items], "identified families list")
        return IdentifiedFamilyPage(
            items=[IdentifiedFamilyRead.model_validate(f) for f in items],
            **page.links(lambda f: (f.need_count, f.latest_evidence or date.min, f.id)),
        )

    async def get(self, principal: Principal, scope: HubScope, family_id: uuid.UUID) -> IdentifiedFamilyRead:
        family = await self.repo.get(scope, family_id)
        if family is None:
            raise NotFound("No such identified family")
        await self.repo.audit(principal, "read", "identified_family", [family.id], "identified family need profile")
        return IdentifiedFamilyRead.model_validate(family)

    async def decide(
        self, principal: Principal, scope: HubScope, family_id: uuid.UUID, body: DecisionCreate
    ) -> IdentifiedFamilyRead:
        family = await self.repo.get(scope, family_id, for_update=True)
        if family is None:
            raise NotFound("No such identified family")
        if body.decision != "refer" and not body.reason:
            raise UnprocessableContent(
                f"A reason is required to {body.decision.replace('_', ' ')}",
                errors=[field_error("/reason", "required unless the decision is refer")],
            )
        if family.status == "statutory":
            raise Conflict(
                f"This family is known to social care ({family.statutory}): it is shown, not offered for early help"
            )
        if family.status == "open_case":
            raise Conflict("A member of this family has an open early help case: it is not offered as new")
        if family.status not in DECIDABLE:
            raise Conflict(f"This family was already decided ({family.status})")
        now = datetime.now(UTC)
        if body.decision == "refer":
            payload = referred_payload(family, principal, now, body.reason)
            if not payload.people:
                raise Conflict("No member of this family has a name and date of birth to refer")
            await self.repo.publish(FamilyReferred.event_type, family.id, payload.data())
        family.status = STATUS_OF[body.decision]
        family.decision = {
            "decision": body.decision,
            "reason": body.reason,
            "decided_by": principal.actor,
            "decided_at": now.isoformat(),
        }
        family.updated_at = now
        await self.repo.session.flush()
        await self.repo.audit(
            principal,
            "update",
            "identified_family",
            [family.id],
            "decision on an identified family",
            details={"decision": body.decision, "reason": body.reason},
        )
        await self.repo.session.refresh(family)
        return IdentifiedFamilyRead.model_validate(family)

    async def profile(self, principal: Principal, *, hub: str | None, district: str | None) -> NeedProfileRead:
        rows = await self.repo.profile_rows(hub=hub, district=district)
        profile = build_profile(rows, hub=hub, district=district, latest_run=await self.repo.latest_run())
        await self.repo.audit(principal, "read", "need_profile", [hub or "all"], "commissioning need profile")
        return profile
