"""The rules of triage: who may read a referral, screening, the decision, withdrawal, consent and the case link.

`TriageService` raises domain errors (`shared.errors`) and never commits: the request owns the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from referrals.access import ReadScope, caseload_families, decision_scope, needs_caseload, read_scope, withdraw_scope
from referrals.models import OPEN_STATUSES, Referral, ReferralPerson, platform
from referrals.payloads import (
    EVENT_SOURCE,
    accepted_payload,
    decided_payload,
    status_changed_payload,
    withdrawn_payload,
)
from referrals.retention.consent import consent_withdrawn
from referrals.triage.repository import ReferralFilters, ReferralRepository
from referrals.triage.schemas import DecisionCreate, IdentityConfirm, WithdrawalCreate
from shared.audit import record_access
from shared.auth import Principal
from shared.caseload import CaseloadClient
from shared.errors import Conflict, NotFound, UnprocessableContent, field_error
from shared.events import publish
from shared.pagination import Slice, Window


class TriageService:
    """Triage of the referrals a caller may see; built per request from its repository and the client that asks
    the cases service which families a practitioner works with."""

    def __init__(self, repo: ReferralRepository, caseload: CaseloadClient | None = None) -> None:
        self.repo = repo
        self.caseload = caseload

    # --- reading ------------------------------------------------------------------------------------------

    async def referral(self, principal: Principal, referral_id: uuid.UUID) -> Referral:
        """One referral the caller may see (audited as a read); 404 as for an unknown id otherwise."""
        referral = await self.repo.get(referral_id, await self._read_scope_of(principal, referral_id))
        if referral is None:
            raise NotFound(f"No referral {referral_id} that you can see")
        await self._audit(principal, "read", [referral.id], "view referral")
        return referral

    async def queue(
        self, principal: Principal, filters: ReferralFilters, *, window: Window, now: datetime
    ) -> Slice[Referral]:
        """A page of the triage queue the caller may see (audited as reads), and whether more come before or after."""
        family_ids = list(filters.family_ids) if filters.family_ids else None
        scope = read_scope(principal, await caseload_families(principal, self.caseload, family_ids))
        page = Slice.of(window, await self.repo.search(scope, filters, window=window, now=now))
        await self._audit(principal, "read", [r.id for r in page.rows], "list referrals")
        return page

    async def review_queue(self, principal: Principal, *, window: Window) -> Slice[tuple[ReferralPerson, Referral]]:
        """People in review or conflict across the referrals the caller decides on (audited as reads)."""
        page = Slice.of(window, await self.repo.review_queue(decision_scope(principal), window=window))
        await self._audit(principal, "read", sorted({r.id for _, r in page.rows}, key=str), "identity review queue")
        return page

    # --- the lifecycle ------------------------------------------------------------------------------------

    async def start_screening(
        self, principal: Principal, referral_id: uuid.UUID, note: str | None, *, at: datetime | None = None
    ) -> Referral:
        referral = await self._locked(referral_id, decision_scope(principal))
        if referral.status != "received":
            raise Conflict(f"Screening starts from received; this referral is {referral.status}")
        await self._change_status(referral, principal, "screening", note, at=at)
        return referral

    async def decide(
        self, principal: Principal, referral_id: uuid.UUID, decision: DecisionCreate, *, at: datetime | None = None
    ) -> Referral:
        """Record the hub's decision. Accepting needs the family's consent; stepping up does not."""
        referral = await self._locked(referral_id, decision_scope(principal))
        if referral.status not in OPEN_STATUSES:
            raise Conflict(
                f"This referral is already {referral.status}; decisions are made while received or screening"
            )
        if decision.decision == "accepted":
            _require_confirmed_identities(referral)
        if decision.decision == "accepted" and not referral.consent_given:
            raise Conflict(
                "Early help is voluntary: a referral can be accepted only once the family's consent is recorded "
                "(PUT /v1/referrals/{id}/consent); a safeguarding concern is stepped_up instead"
            )
        now = at or datetime.now(UTC)
        referral.decision_outcome = decision.decision
        referral.decision_reason = decision.reason
        referral.decided_at = now
        referral.decided_by = principal.sub
        events: list[tuple[str, dict[str, Any]]] = [("referral.decided", decided_payload(referral))]
        if decision.decision == "accepted":
            events.append(("referral.accepted", accepted_payload(referral)))
        await self._change_status(referral, principal, decision.decision, decision.reason, at=now, events=events)
        return referral

    async def withdraw(
        self,
        principal: Principal,
        referral_id: uuid.UUID,
        withdrawal: WithdrawalCreate,
        *,
        at: datetime | None = None,
    ) -> Referral:
        referral = await self._locked(referral_id, withdraw_scope(principal))
        if referral.status not in OPEN_STATUSES:
            raise Conflict(f"Only a referral awaiting a decision can be withdrawn; this one is {referral.status}")
        now = at or datetime.now(UTC)
        referral.withdrawn_at = now
        events = [("referral.withdrawn", withdrawn_payload(referral, withdrawal.reason))]
        await self._change_status(referral, principal, "withdrawn", withdrawal.reason, at=now, events=events)
        return referral

    async def record_consent(self, principal: Principal, referral_id: uuid.UUID, consent: dict[str, Any]) -> Referral:
        referral = await self._locked(referral_id, decision_scope(principal))
        if referral.status not in OPEN_STATUSES:
            raise Conflict(f"Consent is recorded before the decision; this referral is {referral.status}")
        referral.consent = consent
        referral.consent_given = bool(consent["given"])
        referral.updated_at = datetime.now(UTC)
        await self.repo.flush()
        await self._audit(
            principal, "update", [referral.id], "record consent", details={"consent_given": referral.consent_given}
        )
        return referral

    async def confirm_identity(
        self,
        principal: Principal,
        referral_id: uuid.UUID,
        ref: str,
        body: IdentityConfirm,
        *,
        at: datetime | None = None,
    ) -> Referral:
        """Triage says who a referred person is: one of their match candidates, or a new person (with a reason).

        Only a person the match showed this referral may be confirmed: any other id, like an id the caller may not
        see, is the same 404 as an unknown one. Repeating the same answer changes nothing; a different answer
        replaces it while the referral awaits its decision (the audit log keeps both).
        """
        referral = await self._locked(referral_id, decision_scope(principal))
        person = next((p for p in referral.people if p.ref == ref), None)
        if person is None:
            raise NotFound(f"No person {ref} in referral {referral_id}")
        if referral.status not in OPEN_STATUSES:
            raise Conflict(f"Identities are confirmed before the decision; this referral is {referral.status}")
        _require_matching_done(referral)
        if body.person_id is None:
            if not body.reason:
                raise UnprocessableContent(
                    "Declaring a new person needs a reason",
                    errors=[field_error("/reason", "required when person_id is null")],
                )
            person.match_status, person.matched_person_id = "new_person", None
        else:
            shown = {str(c.get("person", {}).get("id")) for c in person.match_candidates}
            if str(body.person_id) not in shown and body.person_id != person.matched_person_id:
                raise NotFound("No such person among this person's match candidates")
            person.match_status, person.matched_person_id = "confirmed", body.person_id
        person.identity_confirmed_by = principal.sub
        person.identity_confirmed_at = at or datetime.now(UTC)
        person.identity_reason = body.reason
        referral.updated_at = person.identity_confirmed_at
        await self.repo.flush()
        await self._audit(
            principal,
            "update",
            [referral.id],
            "confirm identity",
            details={"ref": ref, "person_id": str(body.person_id) if body.person_id else None, "reason": body.reason},
        )
        return referral

    async def link_case(self, referral_id: uuid.UUID, *, family_id: uuid.UUID, case_id: uuid.UUID, actor: str) -> bool:
        """Record the family and case that took an accepted referral (from `case.opened` / `case.joined`)."""
        linked = await self.repo.link_case(referral_id, family_id=family_id, case_id=case_id)
        if linked:
            await self._audit(actor, "update", [referral_id], "case opened or joined")
        return linked

    # --- helpers ------------------------------------------------------------------------------------------

    async def _read_scope_of(self, principal: Principal, referral_id: uuid.UUID) -> ReadScope:
        """The caller's read scope over one referral: cases is asked only about that referral's family."""
        family_id = await self.repo.family_of(referral_id) if needs_caseload(principal) else None
        families = [family_id] if family_id is not None else []
        return read_scope(principal, await caseload_families(principal, self.caseload, families))

    async def _locked(self, referral_id: uuid.UUID, scope: ReadScope) -> Referral:
        referral = await self.repo.get(referral_id, scope, for_update=True)
        if referral is None:
            raise NotFound(f"No referral {referral_id} that you can act on")
        return referral

    async def _change_status(
        self,
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
        await self.repo.add_status_change(referral, to_status=to_status, at=at, by=principal.actor, reason=reason)
        session = self.repo.session
        await publish(
            session,
            platform,
            source=EVENT_SOURCE,
            type="referral.status_changed",
            subject=str(referral.id),
            data=status_changed_payload(referral, previous, at),
            # consent withdrawn: the partner hears nothing more (no subscription has no audience)
            audience_agency=None if await consent_withdrawn(session, referral.id) else referral.agency,
        )
        for event_type, data in events:
            await publish(session, platform, source=EVENT_SOURCE, type=event_type, subject=str(referral.id), data=data)
        await self._audit(principal, "update", [referral.id], f"status {previous} -> {to_status}")

    async def _audit(
        self,
        actor: Principal | str,
        action: str,
        ids: Sequence[uuid.UUID],
        purpose: str,
        *,
        details: dict[str, Any] | None = None,
    ) -> None:
        await record_access(
            self.repo.session,
            platform,
            actor=actor,
            action=action,
            record_type="referral",
            record_ids=ids,
            purpose=purpose,
            details=details,
        )


def _require_matching_done(referral: Referral) -> None:
    """Matching runs after intake (`intake.match_worker`): until it has answered, nobody knows who the people are."""
    if referral.matching == "pending":
        raise Conflict(
            "Matching this referral's people against the person index is still pending; try again in a few "
            "seconds (GET /v1/referrals/{id} shows matching: completed when it is done)",
            headers={"Retry-After": "2"},
            matching="pending",
        )


def _require_confirmed_identities(referral: Referral) -> None:
    """No child joins a family except through a confirmed identity: a person in review or conflict blocks it."""
    _require_matching_done(referral)
    unconfirmed = [p for p in referral.people if p.match_status == "candidates"]
    if unconfirmed:
        which = ", ".join(
            f"{p.ref} ({'conflict' if any(c.get('band') == 'conflict' for c in p.match_candidates) else 'review'})"
            for p in unconfirmed
        )
        raise Conflict(
            f"Confirm who each referred person is before accepting: {which} "
            "(PUT /v1/referrals/{id}/people/{ref}/identity with a candidate's person_id, or null and a reason)"
        )
