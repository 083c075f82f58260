"""The payloads of the events this service publishes (docs/contracts.md), built from a referral."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from referrals.models import Referral

EVENT_SOURCE = "urn:earlyhelp:referrals"


def received_payload(values: dict[str, Any]) -> dict[str, Any]:
    """`referral.received` of a new referral, from the `referrals` row values intake writes."""
    return {
        "referral_id": values["id"],
        "kind": values["kind"],
        "agency": values["agency"],
        "agency_type": values["agency_type"],
        "hub": values["hub"],
        "hub_defaulted": values["hub_defaulted"],
        "safeguarding_concern": values["safeguarding_concern"],
        "needs": list(values["needs"]),
        "received_at": values["received_at"],
        "decision_due_at": values["decision_due_at"],
    }


def decision_payload(referral: Referral) -> dict[str, Any] | None:
    if referral.decision_outcome is None:
        return None
    return {
        "decision": referral.decision_outcome,
        "outcome": referral.decision_outcome,  # deprecated: the same value under its old name
        "reason": referral.decision_reason,
        "decided_by": referral.decided_by,
        "decided_at": referral.decided_at,
    }


def decided_payload(referral: Referral) -> dict[str, Any]:
    return {
        "referral_id": referral.id,
        "kind": referral.kind,
        "agency": referral.agency,
        "hub": referral.hub,
        "safeguarding_concern": referral.safeguarding_concern,
        "received_at": referral.received_at,
        "decision_due_at": referral.decision_due_at,
        **(decision_payload(referral) or {}),
    }


def status_changed_payload(referral: Referral, previous: str | None, at: datetime) -> dict[str, Any]:
    return {
        "referral_id": referral.id,
        "external_reference": referral.external_reference,
        "status": referral.status,
        "previous_status": previous,
        "decision": decision_payload(referral),
        "family_id": referral.family_id,
        "case_id": referral.case_id,
        "changed_at": at,
    }


_IDENTITY = {"matched": "matched", "confirmed": "confirmed", "new_person": "new"}
"""How a person's identity was settled, for cases: linked by the matcher, confirmed at triage, or a new person."""


def accepted_payload(referral: Referral) -> dict[str, Any]:
    """Everything cases needs to open a case for the family or join an open one."""
    return {
        "referral_id": referral.id,
        "kind": referral.kind,
        "agency": referral.agency,
        "agency_type": referral.agency_type,
        "hub": referral.hub,
        "received_at": referral.received_at,
        "decided_at": referral.decided_at,
        "decided_by": referral.decided_by,
        "needs": list(referral.needs),
        "reason": referral.decision_reason,
        "safeguarding_concern": referral.safeguarding_concern,
        "consent": referral.consent,
        "postcode": referral.postcode,
        "address": referral.address,
        "expected_delivery_date": referral.expected_delivery_date,
        "people": [
            {
                "ref": p.ref,
                "role": p.role,
                "given_name": p.given_name,
                "family_name": p.family_name,
                "date_of_birth": p.date_of_birth,
                "nhs_number": p.nhs_number,
                "upn": p.upn,
                "postcode": p.postcode,
                "address": p.address,
                "matched_person_id": p.matched_person_id,
                "identity": _IDENTITY.get(p.match_status),
            }
            for p in referral.people
        ],
    }


def withdrawn_payload(referral: Referral, reason: str | None) -> dict[str, Any]:
    return {
        "referral_id": referral.id,
        "agency": referral.agency,
        "hub": referral.hub,
        "withdrawn_at": referral.withdrawn_at,
        "reason": reason,
    }
