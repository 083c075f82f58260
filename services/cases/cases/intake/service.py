"""Intake: a `referral.accepted` event opens a case for the referred family, or joins the family's open case.

The consumer runs inside the inbox transaction of `POST /v1/events`, so a redelivered event is a no-op and a
failed one leaves nothing behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from cases.casework.repository import CaseworkRepository
from cases.families.repository import FamiliesRepository
from cases.families.service import FamiliesService
from cases.intake.repository import IntakeRepository
from cases.intake.schemas import ReferralAccepted, ReferralPerson
from cases.kit import today
from cases.models import Case, Family, FamilyMember, Person
from cases.people import matching, model
from cases.people.service import PeopleService, person_record, person_values
from cases.workforce.repository import WorkforceRepository
from shared.errors import BadRequest
from shared.events import CloudEvent

Resolved = list[tuple[ReferralPerson, Person | None]]
Members = list[tuple[FamilyMember, Person | None]]


class IntakeService:
    def __init__(
        self,
        repo: IntakeRepository,
        *,
        people: PeopleService,
        families: FamiliesService,
        casework: CaseworkRepository,
        workforce: WorkforceRepository,
    ) -> None:
        self.repo = repo
        self.people = people
        self.families = families
        self.family_repo: FamiliesRepository = families.repo
        self.casework = casework
        self.workforce = workforce

    async def open_from_referral(self, event: CloudEvent) -> None:
        """Open a case for the referred family, or join the family's open case; idempotent per referral.

        Concurrent deliveries about one family serialise on advisory locks keyed by the people's identities
        (NHS number, UPN, matched id, or name and date of birth), so they find one another's family; the
        partial unique index on open cases is the last line of defence.
        """
        referral = ReferralAccepted.model_validate(event.data)
        actor = f"event:{event.source}"
        if await self.repo.case_of_referral(referral.referral_id) is not None:
            return
        await self.repo.lock(
            [f"referral:{referral.referral_id}", *(k for p in referral.people for k in _identity_keys(p))]
        )
        if await self.repo.case_of_referral(referral.referral_id) is not None:
            return
        await self.workforce.ensure_hub(referral.hub)  # hubs are data; a hub referrals allocates to is one we serve
        resolved: Resolved = [(referred, await self._resolve_identified(referred)) for referred in referral.people]
        family = await self._family_of(referral, resolved)
        joined = await self._join_members(family, referral, resolved)
        await self.families.publish_membership(family.id, added=joined, left=0)
        case, joined_existing = await self._open_or_join_case(family, referral, actor)
        await self.repo.link_referral(
            referral.referral_id, case.id, joined=joined_existing, received_at=referral.received_at
        )
        await self.repo.publish(
            "case.joined" if joined_existing else "case.opened",
            case.id,
            {
                "case_id": case.id,
                "family_id": family.id,
                "hub": case.hub,
                "referral_id": referral.referral_id,
                "opened_at": case.opened_at,
            },
        )
        await self.repo.audit(
            actor,
            "update" if joined_existing else "create",
            "case",
            [case.id],
            purpose=f"referral {referral.referral_id} accepted",
        )
        await self.repo.audit(actor, "update", "family", [family.id], purpose=f"referral {referral.referral_id}")

    async def _family_of(self, referral: ReferralAccepted, resolved: Resolved) -> Family:
        """The family of any identified person (one with an open case first), else of a confident name match,
        else a new family. Name matches found here are kept in `resolved`."""
        known_ids = [p.id for _, p in resolved if p is not None]
        family_ids = await self.family_repo.families_of_people(known_ids) if known_ids else []
        if not family_ids:
            for index, (ref, found) in enumerate(resolved):
                if found is None and ref.identity != "new":
                    resolved[index] = (ref, await self._find_by_name(ref, referral))
            known_ids = [p.id for _, p in resolved if p is not None]
            family_ids = await self.family_repo.families_of_people(known_ids) if known_ids else []
        if family_ids:
            family = await self.family_repo.get_family(family_ids[0])
            assert family is not None
            return family
        family = Family(
            id=uuid.uuid4(),
            name=f"{referral.people[0].family_name} family",
            hub=referral.hub,
            address=referral.address,
            postcode=referral.postcode or referral.people[0].postcode,
        )
        await self.family_repo.add(family)
        return family

    async def _join_members(self, family: Family, referral: ReferralAccepted, resolved: Resolved) -> int:
        """Add the referred people who are not yet current members (and the unborn child); how many joined."""
        members: Members = await self.family_repo.current_members(family.id)
        joined = 0
        for ref, maybe_person in resolved:
            person = maybe_person
            if person is None and ref.identity != "new":
                person = _same_member(ref, members) or await self._find_by_name(ref, referral)
            if person is None:
                person = await self._create_person(ref, referral)
            if any(m.person_id == person.id for m, _ in members):
                continue
            member = FamilyMember(
                id=uuid.uuid4(), family_id=family.id, person_id=person.id, role=ref.role, joined_on=today()
            )
            if await self.family_repo.add_member(member):
                members.append((member, person))
                joined += 1
        if referral.expected_delivery_date and not any(
            m.role == "unborn" and m.expected_on == referral.expected_delivery_date for m, _ in members
        ):
            await self.family_repo.add(
                FamilyMember(
                    id=uuid.uuid4(),
                    family_id=family.id,
                    role="unborn",
                    expected_on=referral.expected_delivery_date,
                    joined_on=today(),
                )
            )
            joined += 1
        return joined

    async def _open_or_join_case(self, family: Family, referral: ReferralAccepted, actor: str) -> tuple[Case, bool]:
        """The family's open case (joined: True), or a new one (False)."""
        case = await self.casework.open_case_of_family(family.id)
        if case is not None:
            return case, True
        case = Case(
            id=uuid.uuid4(),
            family_id=family.id,
            hub=referral.hub,
            status="open",
            version=1,
            reason=referral.reason,
            opened_by=actor,
            referral_id=referral.referral_id,
        )
        if await self.casework.add_case(case):
            return case, False
        existing = await self.casework.open_case_of_family(family.id)
        assert existing is not None
        return existing, True

    async def _resolve_identified(self, ref: ReferralPerson) -> Person | None:
        """The person triage confirmed (or the matcher linked); a declared new person is nobody yet. Without either,
        the holder of the person's NHS number or UPN, unless their details conflict (a typo or a reused number)."""
        if ref.matched_person_id is not None:
            person = await self.people.repo.get_person(ref.matched_person_id)
            if person is not None:
                return await self.people.survivor(person)
        if ref.identity == "new":
            return None
        query = model.Record(ref.given_name, ref.family_name, ref.date_of_birth, ref.postcode, ref.nhs_number, ref.upn)
        trained = model.load_model()
        for holder in await self.people.repo.people_by_identifiers(ref.nhs_number, ref.upn):
            if trained.compare(query, person_record(holder)).auto_linkable:
                return await self.people.survivor(holder)
        return None

    async def _find_by_name(self, ref: ReferralPerson, referral: ReferralAccepted) -> Person | None:
        """A confident match without identifiers: the same normalised names, date of birth and postcode."""
        if ref.nhs_number or ref.upn or ref.date_of_birth is None:
            return None
        postcode = ref.postcode or referral.postcode
        for person in await self.people.repo.people_same_name_dob(
            date_of_birth=ref.date_of_birth, family_key=matching.name_key(ref.family_name)
        ):
            if (
                matching.normalise_name(person.family_name) == matching.normalise_name(ref.family_name)
                and matching.normalise_name(person.given_name) == matching.normalise_name(ref.given_name)
                and person.postcode == postcode
            ):
                return person
        return None

    async def _create_person(self, ref: ReferralPerson, referral: ReferralAccepted) -> Person:
        """A new person. An NHS number or UPN already held by someone else stays theirs (it was a typo or a reused
        number: triage declared this a different person), so the new person is created without it."""
        held = {
            i
            for p in await self.people.repo.people_by_identifiers(ref.nhs_number, ref.upn)
            for i in (p.nhs_number, p.upn)
        }
        values = person_values(
            given_name=ref.given_name,
            family_name=ref.family_name,
            date_of_birth=ref.date_of_birth,
            nhs_number=ref.nhs_number if ref.nhs_number not in held else None,
            upn=ref.upn if ref.upn not in held else None,
            postcode=ref.postcode or referral.postcode,
            address=ref.address or referral.address,
        )
        person = await self.people.repo.insert_person(values)
        if person is None:
            raise BadRequest("The person's identifiers conflict with the index")
        return person


def _identity_keys(ref: ReferralPerson) -> list[str]:
    keys = [
        f"person:nhs:{ref.nhs_number}" if ref.nhs_number else "",
        f"person:upn:{ref.upn}" if ref.upn else "",
        f"person:{ref.matched_person_id}" if ref.matched_person_id else "",
    ]
    name = f"{matching.compact(ref.family_name)}|{matching.compact(ref.given_name)}|{ref.date_of_birth}"
    return [k for k in keys if k] or [f"person:name:{name}"]


def _same_member(ref: ReferralPerson, members: Sequence[tuple[FamilyMember, Person | None]]) -> Person | None:
    for _, person in members:
        if (
            person is not None
            and person.date_of_birth == ref.date_of_birth
            and matching.normalise_name(person.family_name) == matching.normalise_name(ref.family_name)
            and matching.normalise_name(person.given_name) == matching.normalise_name(ref.given_name)
        ):
            return person
    return None
