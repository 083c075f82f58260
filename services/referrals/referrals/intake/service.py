"""The rules of intake: a referral received once (Idempotency-Key), its need codes checked against the active
framework, its hub and decision deadline set. Its people are stored with matching pending: intake never waits on
the cases person index; the matching worker (`intake.match_worker`) matches them after the commit.

`IntakeService` raises domain errors (`shared.errors`) and never commits: the request owns the transaction.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import structlog

from referrals.access import submission_refusal
from referrals.config import Settings
from referrals.intake.lawful_basis import lawful_basis_of
from referrals.intake.people import NamedPerson, kind_details, people_of, person_row, postcode_of
from referrals.intake.repository import AuditEntry, IdempotentResponse, IntakeRepository
from referrals.intake.schemas import MAX_PEOPLE, ReferralCreate
from referrals.models import IdempotencyKey, platform
from referrals.needs import NeedCatalogue
from referrals.payloads import EVENT_SOURCE, received_payload
from referrals.triage.hubs import HubAllocation, district_of
from referrals.triage.schemas import new_referral_read
from referrals.triage.working_days import decision_due_at
from shared.audit import record_access
from shared.auth import Principal
from shared.errors import BadRequest, Conflict, Forbidden, UnprocessableContent, field_error
from shared.events import OutboxEvent
from shared.idempotency import KEY as IDEMPOTENCY_KEY
from shared.idempotency import KEY_RULE
from shared.tracing import current_traceparent

log = structlog.get_logger("referrals.intake")


@dataclass(frozen=True, slots=True)
class Peers:
    """What intake asks of the other services: the need catalogue (outcomes), over the pooled HTTP client."""

    needs: NeedCatalogue
    http: httpx.AsyncClient


@dataclass(frozen=True, slots=True)
class StoredReferral:
    id: uuid.UUID
    hub: str


@dataclass(frozen=True, slots=True)
class IntakeResult:
    status_code: int
    body: dict[str, Any]
    referral_id: uuid.UUID
    replayed: bool


class _KeyTaken(Exception):
    """Another request holds the Idempotency-Key (its row); nothing of this request was written."""

    def __init__(self, earlier: IdempotencyKey) -> None:
        super().__init__("Idempotency-Key taken")
        self.earlier = earlier


def kind_of(payload: ReferralCreate) -> str:
    return payload.kind


def request_hash(kind: str, payload: ReferralCreate) -> str:
    canonical = orjson.dumps(payload.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(kind.encode() + b"\n" + canonical).hexdigest()


def _check_replayable(earlier: IdempotencyKey, digest: str) -> None:
    """Refuse a replay of a key used with another body (422) or still being processed (409)."""
    if earlier.request_hash != digest:
        raise UnprocessableContent(
            "This Idempotency-Key was used with a different body; use a new key for a new referral",
            errors=[field_error("#header/Idempotency-Key", "reused with a different body", "idempotency_key_reused")],
        )
    if earlier.status_code is None or earlier.response_body is None or earlier.referral_id is None:
        raise Conflict("A request with this Idempotency-Key is still being processed")


class IntakeService:
    """Receives referrals; built per request from its repository, the settings and (to receive) its peers."""

    def __init__(self, repo: IntakeRepository, settings: Settings, peers: Peers | None = None) -> None:
        self.repo = repo
        self.settings = settings
        self._peers = peers

    @property
    def peers(self) -> Peers:
        if self._peers is None:
            raise RuntimeError("this IntakeService was built without its peers (the need catalogue)")
        return self._peers

    async def receive(self, principal: Principal, payload: ReferralCreate, idempotency_key: str | None) -> IntakeResult:
        """Store a new referral (or replay the response to an earlier request with the same Idempotency-Key)."""
        kind = kind_of(payload)
        lawful_basis_of(payload)  # a contradiction is a 422 before anything is stored or replayed
        if not principal.agency:
            raise Forbidden("Referrals come from an agency: the token has no agency claim")
        refusal = submission_refusal(principal, kind)
        if refusal is not None:
            raise Forbidden(refusal)
        if idempotency_key is None and principal.has_role("partner_system"):
            missing = "Partner systems must send an Idempotency-Key header with every create"
            raise BadRequest(missing, errors=[field_error("#header/Idempotency-Key", missing, "required")])
        if idempotency_key is not None and not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
            raise BadRequest(KEY_RULE, errors=[field_error("#header/Idempotency-Key", KEY_RULE, "malformed")])
        owner = principal.agency
        # The key is claimed by the same statement that stores the referral (one round trip for the write); a
        # request that finds it taken is told so after (`_KeyTaken`): replayed, or refused.
        digest = request_hash(kind, payload) if idempotency_key is not None else ""
        needs = await self.validate_needs(payload.needs)
        now = datetime.now(UTC)
        people = people_of(payload, now.date())
        if len(people) > MAX_PEOPLE:
            pointer = {"maternity": "/children", "school": "/parents"}.get(kind, "/people")
            raise UnprocessableContent(
                f"A referral can name at most {MAX_PEOPLE} people; this one names {len(people)}",
                errors=[field_error(pointer, f"at most {MAX_PEOPLE} people in all", "too_many_people")],
            )
        try:
            referral, body = await self.store(
                principal,
                payload,
                people=people,
                needs=needs,
                now=now,
                idempotency=(owner, idempotency_key, digest) if idempotency_key is not None else None,
            )
        except _KeyTaken as taken:
            return await self._replay(principal, taken.earlier, digest)
        log.info("referral_received", referral_id=str(referral.id), kind=kind, hub=referral.hub)
        return IntakeResult(201, body, referral.id, replayed=False)

    async def _replay(self, principal: Principal, earlier: IdempotencyKey, digest: str) -> IntakeResult:
        """The first request's response under this key (nothing of this request was written), or why not.

        Keys are the agency's (so two systems of one agency cannot create the same referral twice under one key),
        but the stored response is its submitter's: another subject of the agency gets a 409, not the referral.
        A replay hands back personal data, so it is audited as a read of the referral.
        """
        _check_replayable(earlier, digest)
        assert earlier.referral_id is not None
        if await self.repo.submitter_of(earlier.referral_id) != principal.sub:
            raise Conflict(
                "This Idempotency-Key was used by another caller of your agency; use a new key for a new referral"
            )
        await record_access(
            self.repo.session,
            platform,
            actor=principal,
            action="read",
            record_type="referral",
            record_ids=[earlier.referral_id],
            purpose="idempotent replay",
        )
        assert earlier.status_code is not None
        assert earlier.response_body is not None
        return IntakeResult(earlier.status_code, earlier.response_body, earlier.referral_id, replayed=True)

    async def validate_needs(self, needs: list[str]) -> list[str]:
        catalogue = await self.peers.needs.current(self.peers.http)
        errors = [
            field_error(f"/needs/{i}", f"{code!r} is not a need code of the active outcome framework", "unknown_need")
            for i, code in enumerate(needs)
            if code not in catalogue.codes
        ]
        if errors:
            raise UnprocessableContent("Unknown need codes", errors=errors)
        return list(dict.fromkeys(needs))

    async def store(
        self,
        principal: Principal,
        payload: ReferralCreate,
        *,
        people: list[NamedPerson],
        needs: list[str],
        now: datetime,
        referral_id: uuid.UUID | None = None,
        idempotency: tuple[str, str, str] | None = None,
    ) -> tuple[StoredReferral, dict[str, Any]]:
        """Insert a validated referral with its people and first status; publish `referral.received`; audit.

        `idempotency`: (owner, key, request hash) to claim with it. Raises `_KeyTaken` when another request holds
        the key, `Conflict` when the agency already sent this external reference."""
        assert principal.agency is not None
        referral_id = referral_id or uuid.uuid4()
        default_hub = self.settings.default_hub
        # The default hub, which the insert statement replaces by the hub of the postcode's district when the
        # council's mapping (`hub_districts`) has it: the mapping is read by the write itself, no round trip.
        values = self._referral_values(principal, payload, people, needs, now, HubAllocation(default_hub, True))
        values["id"] = referral_id
        people_rows = [person_row(referral_id, i, p, row_id=uuid.uuid4()) for i, p in enumerate(people)]
        change = {
            "referral_id": referral_id,
            "from_status": None,
            "to_status": "received",
            "changed_at": now,
            "changed_by": principal.actor,
            "reason": None,
        }
        # The response is known before anything is written, so it is stored under the key in the same statement;
        # it is built from the row values, as the event is (no ORM objects on intake's hot path).
        body = new_referral_read(values, people_rows, change, now, principal=principal).model_dump(mode="json")
        stored = IdempotentResponse(*idempotency, 201, body) if idempotency is not None else None
        # The outbox event (`referral.received`) and the audit row are written by the same statement as the
        # referral (one round trip for the whole intake write) — the rows `publish` and `record_access` would write.
        event = OutboxEvent.new(
            source=EVENT_SOURCE, type="referral.received", subject=str(referral_id), data=received_payload(values)
        )
        audit = AuditEntry(actor=principal.actor, action="create", record_type="referral", purpose="referral intake")
        inserted = await self.repo.insert_referral(
            values,
            people_rows,
            change,
            event=event,
            audit=audit,
            idempotent_response=stored,
            hub_district=district_of(values["postcode"]),
        )
        if not inserted.claimed_key and idempotency is not None:
            earlier = await self.repo.idempotency_key(idempotency[0], idempotency[1])
            if earlier is not None:
                if inserted.referral_id is not None:  # written beside a key another request holds: undo it
                    _check_replayable(earlier, "")  # raises (no request hash is empty): the request rolls back
                raise _KeyTaken(earlier)
        if inserted.referral_id is None:
            existing = await self.repo.referral_id_for(principal.agency, payload.external_reference)
            raise Conflict(
                f"Agency {principal.agency} already sent external_reference {payload.external_reference!r}:"
                f" referral {existing}",
                existing_referral_id=str(existing),
            )
        assert inserted.hub is not None
        body["hub"], body["hub_defaulted"] = inserted.hub, inserted.hub_defaulted
        return StoredReferral(referral_id, inserted.hub), body

    def _referral_values(
        self,
        principal: Principal,
        payload: ReferralCreate,
        people: list[NamedPerson],
        needs: list[str],
        now: datetime,
        allocation: HubAllocation,
    ) -> dict[str, Any]:
        """The `referrals` row of a new referral (without its id): deadline derived, matching pending."""
        primary = people[0].person
        postcode = postcode_of(people)
        return {
            "kind": kind_of(payload),
            "status": "received",
            "agency": principal.agency,
            "agency_type": principal.agency_type,
            "created_by": principal.sub,
            "external_reference": payload.external_reference,
            "hub": allocation.hub,
            "hub_defaulted": allocation.defaulted,
            "postcode": postcode,
            "address": primary.address,
            "safeguarding_concern": payload.safeguarding_concern,
            "needs": needs,
            "reason": payload.reason,
            "referrer": payload.referrer.model_dump(mode="json", exclude_none=True),
            "consent": payload.consent.model_dump(mode="json"),
            "consent_given": payload.consent.given,
            "lawful_basis": lawful_basis_of(payload),
            "details": kind_details(payload),
            "expected_delivery_date": getattr(payload, "expected_delivery_date", None),
            "received_at": now,
            "decision_due_at": decision_due_at(now, self.settings.decision_working_days),
            "matching": "pending",
            "matching_attempts": 0,
            "matching_next_at": now,
            "matching_traceparent": current_traceparent(),
            "updated_at": now,
        }
