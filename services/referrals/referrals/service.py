"""The rules of referrals: intake with idempotency, access, triage lifecycle, deadlines and events.

Functions here raise domain errors (`shared.errors`) and never commit: the request owns the transaction.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import orjson
import structlog

from referrals.config import Settings
from referrals.hubs import allocate_hub
from referrals.matching import CasesUnavailable, MatchQuery, PersonMatch, PersonMatcher
from referrals.models import OPEN_STATUSES, Referral, ReferralPerson, StatusChange, platform
from referrals.needs import NeedCatalogue
from referrals.repository import AuditEntry, IdempotentResponse, ReadScope, ReferralRepository
from referrals.schemas import (
    MAX_PEOPLE,
    DecisionCreate,
    DecisionRead,
    MatchRead,
    MaternityReferralCreate,
    PersonIn,
    PersonRead,
    PupilIn,
    ReferralCreate,
    ReferralRead,
    StatusChangeRead,
    WithdrawalCreate,
)
from referrals.working_days import decision_due_at
from shared.audit import record_access
from shared.auth import Principal
from shared.errors import BadRequest, Conflict, Forbidden, NotFound, UnprocessableContent, field_error
from shared.events import OutboxEvent, publish
from shared.idempotency import KEY as IDEMPOTENCY_KEY

log = structlog.get_logger("referrals.service")
EVENT_SOURCE = "urn:earlyhelp:referrals"
YOUNG_PERSON_AGE = 13


@dataclass(frozen=True, slots=True)
class Intake:
    """What intake needs besides the database: settings, need catalogue, matcher and HTTP client."""

    settings: Settings
    needs: NeedCatalogue
    matcher: PersonMatcher
    http: httpx.AsyncClient


@dataclass(frozen=True, slots=True)
class IntakeResult:
    status_code: int
    body: dict[str, Any]
    referral_id: uuid.UUID
    replayed: bool


# --- access -------------------------------------------------------------------------------------------------


def read_scope(principal: Principal) -> ReadScope:
    """Admins (and the platform's services) see every referral; a partner system or practitioner sees its
    agency's; a hub manager sees those of their hubs."""
    if principal.has_role("admin", "service"):
        return ReadScope(everything=True)
    agencies = (principal.agency,) if principal.agency and principal.has_role("partner_system", "practitioner") else ()
    hubs = principal.hubs if principal.has_role("hub_manager") else ()
    return ReadScope(agencies=agencies, hubs=hubs)


def decision_scope(principal: Principal) -> ReadScope:
    if principal.has_role("admin"):
        return ReadScope(everything=True)
    return ReadScope(hubs=principal.hubs if principal.has_role("hub_manager") else ())


def withdraw_scope(principal: Principal) -> ReadScope:
    if principal.has_role("admin"):
        return ReadScope(everything=True)
    referring = principal.agency and principal.has_role("partner_system", "practitioner")
    return ReadScope(agencies=(principal.agency,) if referring and principal.agency else ())


# --- intake -------------------------------------------------------------------------------------------------


def request_hash(kind: str, payload: ReferralCreate) -> str:
    canonical = orjson.dumps(payload.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(kind.encode() + b"\n" + canonical).hexdigest()


@dataclass(frozen=True, slots=True)
class _Person:
    ref: str
    role: str
    person: PersonIn
    upn: str | None = None


def _age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def person_row(
    referral_id: uuid.UUID,
    position: int,
    p: _Person,
    *,
    row_id: uuid.UUID,
    match_status: str = "pending",
    matched_person_id: uuid.UUID | None = None,
    match_candidates: list[Any] | None = None,
) -> dict[str, Any]:
    """A `referral_people` row for one person of a referral (matching still pending unless given)."""
    return {
        "id": row_id,
        "referral_id": referral_id,
        "position": position,
        "ref": p.ref,
        "role": p.role,
        "given_name": p.person.given_name,
        "family_name": p.person.family_name,
        "date_of_birth": p.person.date_of_birth,
        "nhs_number": p.person.nhs_number,
        "upn": p.upn,
        "postcode": p.person.postcode,
        "address": p.person.address,
        "match_status": match_status,
        "matched_person_id": matched_person_id,
        "match_candidates": match_candidates or [],
    }


def people_of(payload: ReferralCreate, today: date) -> list[_Person]:
    if isinstance(payload, MaternityReferralCreate):
        people = [_Person("expectant_parent", "parent_carer", payload.expectant_parent)]
        if payload.other_parent is not None:
            people.append(_Person("other_parent", "parent_carer", payload.other_parent))
        people += [_Person(f"child_{i + 1}", "child", c) for i, c in enumerate(payload.children)]
        return people
    pupil: PupilIn = payload.pupil
    role = "young_person" if _age_on(pupil.date_of_birth, today) >= YOUNG_PERSON_AGE else "child"
    people = [_Person("pupil", role, pupil, pupil.upn)]
    people += [_Person(f"parent_{i + 1}", "parent_carer", p) for i, p in enumerate(payload.parents)]
    return people


def kind_details(payload: ReferralCreate) -> dict[str, Any]:
    if isinstance(payload, MaternityReferralCreate):
        return payload.model_dump(mode="json", include={"gestation_weeks", "vulnerabilities", "expected_delivery_date"})
    return payload.model_dump(
        mode="json",
        include={
            "school_urn",
            "attendance",
            "suspensions_this_year",
            "permanently_excluded",
            "sen_status",
            "transition",
        },
    ) | {"year_group": payload.pupil.year_group}


async def validate_needs(intake: Intake, needs: list[str]) -> list[str]:
    catalogue = await intake.needs.current(intake.http)
    errors = [
        field_error(f"/needs/{i}", f"{code!r} is not a need code of the active outcome framework", "unknown_need")
        for i, code in enumerate(needs)
        if code not in catalogue.codes
    ]
    if errors:
        raise UnprocessableContent("Unknown need codes", errors=errors)
    return list(dict.fromkeys(needs))


async def receive_referral(
    *,
    repo: ReferralRepository,
    intake: Intake,
    principal: Principal,
    payload: ReferralCreate,
    idempotency_key: str | None,
) -> IntakeResult:
    """Store a new referral (or replay the response to an earlier request with the same Idempotency-Key)."""
    kind = "maternity" if isinstance(payload, MaternityReferralCreate) else "school"
    if not principal.agency:
        raise Forbidden("Referrals come from an agency: the token has no agency claim")
    if idempotency_key is None and principal.has_role("partner_system"):
        raise BadRequest("Partner systems must send an Idempotency-Key header with every create")
    if idempotency_key is not None and not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
        raise BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters")
    owner = principal.agency
    if idempotency_key is not None:
        digest = request_hash(kind, payload)
        earlier = await repo.claim_idempotency_key(owner, idempotency_key, digest)
        if earlier is not None:
            if earlier.request_hash != digest:
                raise UnprocessableContent(
                    "This Idempotency-Key was used with a different body; use a new key for a new referral",
                    errors=[
                        field_error(
                            "#header/Idempotency-Key",
                            "reused with a different body",
                            "idempotency_key_reused",
                        )
                    ],
                )
            if earlier.status_code is None or earlier.response_body is None or earlier.referral_id is None:
                raise Conflict("A request with this Idempotency-Key is still being processed")
            return IntakeResult(earlier.status_code, earlier.response_body, earlier.referral_id, replayed=True)

    needs = await validate_needs(intake, payload.needs)
    now = datetime.now(UTC)
    people = people_of(payload, now.date())
    if len(people) > MAX_PEOPLE:
        pointer = "/children" if kind == "maternity" else "/parents"
        raise UnprocessableContent(
            f"A referral can name at most {MAX_PEOPLE} people; this one names {len(people)}",
            errors=[field_error(pointer, f"at most {MAX_PEOPLE} people in all", "too_many_people")],
        )

    matches: list[PersonMatch] | None = None
    if intake.matcher.claim_inline():
        try:
            matches = await intake.matcher.match_all(intake.http, [query_for(p) for p in people])
        except CasesUnavailable:
            matches = None

    referral, body = await store_new_referral(
        repo=repo,
        principal=principal,
        payload=payload,
        people=people,
        needs=needs,
        matches=matches,
        now=now,
        settings=intake.settings,
        idempotency=(owner, idempotency_key) if idempotency_key is not None else None,
    )
    log.info("referral_received", referral_id=str(referral.id), kind=kind, hub=referral.hub)
    return IntakeResult(201, body, referral.id, replayed=False)


async def store_new_referral(
    *,
    repo: ReferralRepository,
    principal: Principal,
    payload: ReferralCreate,
    people: list[_Person],
    needs: list[str],
    matches: list[PersonMatch] | None,
    now: datetime,
    settings: Settings,
    referral_id: uuid.UUID | None = None,
    idempotency: tuple[str, str] | None = None,
) -> tuple[Referral, dict[str, Any]]:
    """Insert a validated referral with its people and first status; publish `referral.received`; audit."""
    assert principal.agency is not None
    kind = "maternity" if isinstance(payload, MaternityReferralCreate) else "school"
    referral_id = referral_id or uuid.uuid4()
    primary = people[0].person
    postcode = primary.postcode or next((p.person.postcode for p in people if p.person.postcode), None)
    allocation = allocate_hub(postcode, default_hub=settings.default_hub)
    values: dict[str, Any] = {
        "id": referral_id,
        "kind": kind,
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
        "lawful_basis": payload.lawful_basis,
        "details": kind_details(payload),
        "expected_delivery_date": getattr(payload, "expected_delivery_date", None),
        "received_at": now,
        "decision_due_at": decision_due_at(now, settings.decision_working_days),
        "matching": "completed" if matches is not None else "pending",
        "matching_attempts": 0 if matches is not None else 1,
        "matching_next_at": None if matches is not None else now,
        "updated_at": now,
    }
    people_rows = [
        person_row(referral_id, i, p, row_id=uuid.uuid4())
        if matches is None
        else person_row(
            referral_id,
            i,
            p,
            row_id=uuid.uuid4(),
            match_status=matches[i].status,
            matched_person_id=matches[i].matched_person_id,
            match_candidates=matches[i].candidates,
        )
        for i, p in enumerate(people)
    ]
    change = {
        "referral_id": referral_id,
        "from_status": None,
        "to_status": "received",
        "changed_at": now,
        "changed_by": principal.actor,
        "reason": None,
    }
    referral = Referral(
        **values,
        people=[ReferralPerson(**row) for row in people_rows],
        history=[StatusChange(**change)],
    )
    # The response is known before anything is written, so it is stored under the key in the same statement.
    body = to_read(referral, now, principal=principal).model_dump(mode="json")
    stored = IdempotentResponse(idempotency[0], idempotency[1], 201, body) if idempotency is not None else None
    # The outbox event (`referral.received`) and the audit row are written by the same statement as the referral
    # (one round trip for the whole intake write) — the rows `publish` and `record_access` would write.
    event = OutboxEvent.new(
        source=EVENT_SOURCE, type="referral.received", subject=str(referral_id), data=received_payload(referral)
    )
    audit = AuditEntry(actor=principal.actor, action="create", record_type="referral", purpose="referral intake")
    if not await repo.insert_referral(
        values, people_rows, change, event=event, audit=audit, idempotent_response=stored
    ):
        existing = await repo.referral_id_for(principal.agency, payload.external_reference)
        raise Conflict(
            f"Agency {principal.agency} already sent external_reference {payload.external_reference!r}:"
            f" referral {existing}",
            existing_referral_id=str(existing),
        )
    return referral, body


def query_for(person: _Person | ReferralPerson) -> MatchQuery:
    if isinstance(person, ReferralPerson):
        return MatchQuery(
            person.given_name,
            person.family_name,
            person.date_of_birth,
            person.nhs_number,
            person.upn,
            person.postcode,
        )
    p = person.person
    return MatchQuery(p.given_name, p.family_name, p.date_of_birth, p.nhs_number, person.upn, p.postcode)


# --- reading ------------------------------------------------------------------------------------------------


def is_breached(referral: Referral, now: datetime) -> bool:
    settled = referral.decided_at or referral.withdrawn_at or now
    return referral.decision_due_at < settled


def sees_matches(principal: Principal | None) -> bool:
    """Match candidates are other people's records in the person index: triage sees them, partners never."""
    return principal is None or principal.has_role("hub_manager", "admin", "service")


def to_read(referral: Referral, now: datetime, *, principal: Principal | None = None) -> ReferralRead:
    with_matches = sees_matches(principal)
    decision = None
    if referral.decision_outcome is not None:
        assert referral.decided_at is not None
        assert referral.decided_by is not None
        decision = DecisionRead(
            outcome=referral.decision_outcome,
            reason=referral.decision_reason or "",
            decided_by=referral.decided_by,
            decided_at=referral.decided_at,
        )
    return ReferralRead(
        id=referral.id,
        kind=referral.kind,
        status=referral.status,
        agency=referral.agency,
        agency_type=referral.agency_type,
        external_reference=referral.external_reference,
        hub=referral.hub,
        hub_defaulted=referral.hub_defaulted,
        postcode=referral.postcode,
        address=referral.address,
        safeguarding_concern=referral.safeguarding_concern,
        needs=list(referral.needs),
        reason=referral.reason,
        referrer=referral.referrer,
        consent=referral.consent,
        lawful_basis=referral.lawful_basis,
        details=referral.details,
        expected_delivery_date=referral.expected_delivery_date,
        received_at=referral.received_at,
        decision_due_at=referral.decision_due_at,
        breached=is_breached(referral, now),
        decision=decision,
        withdrawn_at=referral.withdrawn_at,
        matching=referral.matching,
        family_id=referral.family_id,
        case_id=referral.case_id,
        people=[
            PersonRead(
                ref=p.ref,
                role=p.role,
                given_name=p.given_name,
                family_name=p.family_name,
                date_of_birth=p.date_of_birth,
                nhs_number=p.nhs_number,
                upn=p.upn,
                postcode=p.postcode,
                address=p.address,
                match=MatchRead(
                    status=p.match_status,
                    matched_person_id=p.matched_person_id,
                    candidates=p.match_candidates,
                )
                if with_matches
                else None,
            )
            for p in referral.people
        ],
        history=[
            StatusChangeRead(
                from_status=c.from_status,
                to_status=c.to_status,
                changed_at=c.changed_at,
                changed_by=c.changed_by,
                reason=c.reason,
            )
            for c in referral.history
        ],
    )


async def get_referral(*, repo: ReferralRepository, principal: Principal, referral_id: uuid.UUID) -> Referral:
    referral = await repo.get(referral_id, read_scope(principal))
    if referral is None:
        raise NotFound(f"No referral {referral_id} that you can see")
    await record_access(
        repo.session,
        platform,
        actor=principal,
        action="read",
        record_type="referral",
        record_ids=[referral.id],
        purpose="view referral",
    )
    return referral


# --- triage -------------------------------------------------------------------------------------------------


async def _locked(repo: ReferralRepository, referral_id: uuid.UUID, scope: ReadScope) -> Referral:
    referral = await repo.get(referral_id, scope, for_update=True)
    if referral is None:
        raise NotFound(f"No referral {referral_id} that you can act on")
    return referral


async def start_screening(
    *,
    repo: ReferralRepository,
    principal: Principal,
    referral_id: uuid.UUID,
    note: str | None,
    at: datetime | None = None,
) -> Referral:
    referral = await _locked(repo, referral_id, decision_scope(principal))
    if referral.status != "received":
        raise Conflict(f"Screening starts from received; this referral is {referral.status}")
    await _change_status(repo, referral, principal, "screening", note, at=at)
    return referral


async def decide(
    *,
    repo: ReferralRepository,
    principal: Principal,
    referral_id: uuid.UUID,
    decision: DecisionCreate,
    at: datetime | None = None,
) -> Referral:
    """Record the hub's decision. Accepting needs the family's consent; stepping up does not."""
    referral = await _locked(repo, referral_id, decision_scope(principal))
    if referral.status not in OPEN_STATUSES:
        raise Conflict(f"This referral is already {referral.status}; decisions are made while received or screening")
    if decision.outcome == "accepted" and not referral.consent_given:
        raise Conflict(
            "Early help is voluntary: a referral can be accepted only once the family's consent is recorded "
            "(PUT /v1/referrals/{id}/consent); a safeguarding concern is stepped_up instead"
        )
    now = at or datetime.now(UTC)
    referral.decision_outcome = decision.outcome
    referral.decision_reason = decision.reason
    referral.decided_at = now
    referral.decided_by = principal.sub
    events: list[tuple[str, dict[str, Any]]] = [("referral.decided", decided_payload(referral))]
    if decision.outcome == "accepted":
        events.append(("referral.accepted", accepted_payload(referral)))
    await _change_status(repo, referral, principal, decision.outcome, decision.reason, at=now, events=events)
    return referral


async def withdraw(
    *,
    repo: ReferralRepository,
    principal: Principal,
    referral_id: uuid.UUID,
    withdrawal: WithdrawalCreate,
    at: datetime | None = None,
) -> Referral:
    referral = await _locked(repo, referral_id, withdraw_scope(principal))
    if referral.status not in OPEN_STATUSES:
        raise Conflict(f"Only a referral awaiting a decision can be withdrawn; this one is {referral.status}")
    now = at or datetime.now(UTC)
    referral.withdrawn_at = now
    withdrawn = {
        "referral_id": referral.id,
        "agency": referral.agency,
        "hub": referral.hub,
        "withdrawn_at": now,
        "reason": withdrawal.reason,
    }
    await _change_status(
        repo, referral, principal, "withdrawn", withdrawal.reason, at=now, events=[("referral.withdrawn", withdrawn)]
    )
    return referral


async def record_consent(
    *, repo: ReferralRepository, principal: Principal, referral_id: uuid.UUID, consent: dict[str, Any]
) -> Referral:
    referral = await _locked(repo, referral_id, decision_scope(principal))
    if referral.status not in OPEN_STATUSES:
        raise Conflict(f"Consent is recorded before the decision; this referral is {referral.status}")
    referral.consent = consent
    referral.consent_given = bool(consent["given"])
    referral.updated_at = datetime.now(UTC)
    await repo.flush()
    await record_access(
        repo.session,
        platform,
        actor=principal,
        action="update",
        record_type="referral",
        record_ids=[referral.id],
        purpose="record consent",
        details={"consent_given": referral.consent_given},
    )
    return referral


async def _change_status(
    repo: ReferralRepository,
    referral: Referral,
    principal: Principal,
    to_status: str,
    reason: str | None,
    *,
    at: datetime | None = None,
    events: Sequence[tuple[str, dict[str, Any]]] = (),
) -> None:
    """Move the referral, announce it (status_changed to the referring partner, plus `events`), audit it.

    The audit row comes last: the audit chain's trigger holds a lock until commit, so nothing follows it.
    """
    previous = referral.status
    at = at or datetime.now(UTC)
    await repo.add_status_change(referral, to_status=to_status, at=at, by=principal.actor, reason=reason)
    await publish(
        repo.session,
        platform,
        source=EVENT_SOURCE,
        type="referral.status_changed",
        subject=str(referral.id),
        data=status_changed_payload(referral, previous, at),
        audience_agency=referral.agency,
    )
    for event_type, data in events:
        await publish(repo.session, platform, source=EVENT_SOURCE, type=event_type, subject=str(referral.id), data=data)
    await record_access(
        repo.session,
        platform,
        actor=principal,
        action="update",
        record_type="referral",
        record_ids=[referral.id],
        purpose=f"status {previous} -> {to_status}",
    )


# --- event payloads (docs/contracts.md) ---------------------------------------------------------------------


def received_payload(referral: Referral) -> dict[str, Any]:
    return {
        "referral_id": referral.id,
        "kind": referral.kind,
        "agency": referral.agency,
        "agency_type": referral.agency_type,
        "hub": referral.hub,
        "hub_defaulted": referral.hub_defaulted,
        "safeguarding_concern": referral.safeguarding_concern,
        "needs": list(referral.needs),
        "received_at": referral.received_at,
        "decision_due_at": referral.decision_due_at,
    }


def decision_payload(referral: Referral) -> dict[str, Any] | None:
    if referral.decision_outcome is None:
        return None
    return {
        "outcome": referral.decision_outcome,
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
            }
            for p in referral.people
        ],
    }


# --- matching retries and case links ------------------------------------------------------------------------


def _retry_delay(attempts: int, interval: float) -> timedelta:
    return timedelta(seconds=min(300.0, max(interval, 0.1) * 2 ** max(attempts - 1, 0)))


async def retry_pending_matching(
    *, repo: ReferralRepository, matcher: PersonMatcher, http: httpx.AsyncClient, limit: int, interval: float
) -> int:
    """Match the people of referrals whose matching is pending. Returns how many referrals completed."""
    now = datetime.now(UTC)
    referrals = await repo.due_for_matching(now, limit)
    completed = 0
    for position, referral in enumerate(referrals):
        try:
            matches = await matcher.match_all(http, [query_for(p) for p in referral.people])
        except CasesUnavailable:
            for waiting in referrals[position:]:
                waiting.matching_attempts += 1
                waiting.matching_next_at = now + _retry_delay(waiting.matching_attempts, interval)
            break
        for person, match in zip(referral.people, matches, strict=True):
            person.match_status = match.status
            person.matched_person_id = match.matched_person_id
            person.match_candidates = match.candidates
        referral.matching = "completed"
        referral.matching_next_at = None
        referral.updated_at = now
        completed += 1
    await repo.flush()
    return completed


async def link_case(
    *, repo: ReferralRepository, referral_id: uuid.UUID, family_id: uuid.UUID, case_id: uuid.UUID, actor: str
) -> bool:
    linked = await repo.link_case(referral_id, family_id=family_id, case_id=case_id)
    if linked:
        await record_access(
            repo.session,
            platform,
            actor=actor,
            action="update",
            record_type="referral",
            record_ids=[referral_id],
            purpose="case opened or joined",
        )
    return linked
