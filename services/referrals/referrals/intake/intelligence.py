"""Data-led referrals: `intelligence.family_referred` becomes a referral of kind `intelligence`.

A hub manager decided, in the intelligence service, to refer a family that partner data identified; here it
becomes an ordinary referral in that hub's triage queue, from the agency `intelligence`, with the needs and
their evidence. The family has not been contacted yet: consent is not given, so triage records it
(`PUT /v1/referrals/{id}/consent`) before accepting, as for any referral. People are matched against the cases
person index by the matching retry loop. The identified family's id is the external reference, so an event
delivered twice makes one referral.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from referrals.config import Settings
from referrals.intake.repository import AuditEntry, IntakeRepository
from referrals.payloads import EVENT_SOURCE, received_payload
from referrals.triage.working_days import decision_due_at
from shared.contracts.events import FamilyReferred
from shared.errors import UnprocessableContent
from shared.events import CloudEvent, EventHandler, OutboxEvent
from shared.tracing import current_traceparent

AGENCY = "intelligence"


def _values(payload: FamilyReferred, settings: Settings, now: datetime) -> dict[str, Any]:
    needs = ", ".join(payload.needs)
    return {
        "id": uuid.uuid4(),
        "kind": "intelligence",
        "status": "received",
        "agency": AGENCY,
        "agency_type": "council",
        "created_by": payload.decided_by,
        "external_reference": str(payload.identified_family_id),
        "hub": payload.hub,
        "hub_defaulted": payload.hub_defaulted,
        "postcode": payload.postcode,
        "address": payload.address,
        "safeguarding_concern": False,
        "needs": list(payload.needs),
        "reason": f"Identified from partner data ({payload.framework}): {needs}."
        + (f" {payload.reason}" if payload.reason else ""),
        "referrer": {"name": payload.decided_by, "role": "hub manager (data-led identification)"},
        "consent": {"given": False},
        "consent_given": False,
        "lawful_basis": "public_task",
        "details": {
            "identified_family_id": str(payload.identified_family_id),
            "framework": payload.framework,
            "evidence": [e.model_dump(mode="json") for e in payload.evidence],
            "decided_at": payload.decided_at.isoformat(),
        },
        "expected_delivery_date": None,
        "received_at": now,
        "decision_due_at": decision_due_at(now, settings.decision_working_days),
        "matching": "pending",
        "matching_attempts": 0,
        "matching_next_at": now,
        "matching_traceparent": current_traceparent(),
        "updated_at": now,
    }


def _people(referral_id: uuid.UUID, payload: FamilyReferred) -> list[dict[str, Any]]:
    return [
        {
            "id": uuid.uuid4(),
            "referral_id": referral_id,
            "position": i,
            "ref": f"{p.role}_{i + 1}",
            "role": p.role,
            "given_name": p.given_name,
            "family_name": p.family_name,
            "date_of_birth": p.date_of_birth,
            "nhs_number": p.nhs_number,
            "upn": p.upn,
            "postcode": p.postcode,
            "address": p.address,
            "match_status": "pending",
            "matched_person_id": None,
            "match_candidates": [],
        }
        for i, p in enumerate(payload.people)
    ]


def intelligence_handlers(settings: Settings) -> dict[str, EventHandler]:
    async def on_family_referred(session: AsyncSession, event: CloudEvent) -> None:
        try:
            payload = FamilyReferred.model_validate(event.data)
        except ValidationError as exc:
            raise UnprocessableContent(f"{event.type} does not fit its contract: {exc.error_count()} error(s)") from exc
        now = datetime.now(UTC)
        values = _values(payload, settings, now)
        people = _people(values["id"], payload)
        change = {"referral_id": values["id"], "from_status": None, "to_status": "received", "changed_at": now,
                  "changed_by": f"event:{event.source}", "reason": None}  # fmt: skip
        outbox = OutboxEvent.new(
            source=EVENT_SOURCE, type="referral.received", subject=str(values["id"]), data=received_payload(values)
        )
        audit = AuditEntry(actor=f"event:{event.source}", action="create", record_type="referral",
                           purpose="data-led referral from a hub manager's decision")  # fmt: skip
        # False when this identified family was already referred (the external reference exists): nothing to do
        await IntakeRepository(session).insert_referral(values, people, change, event=outbox, audit=audit)

    return {FamilyReferred.event_type: on_family_referred}
