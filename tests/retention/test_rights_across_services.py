"""Legal holds, erasure, rectification and consent withdrawal across the three services: each is made in its
owning service through the HTTP API, and the event it wrote to its outbox is delivered, signed, to the consuming
services' `/v1/events` (as the relay does), whose state is then checked."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.events import CloudEvent, sign_headers
from shared.settings import DEV_EVENT_SECRET
from tests.retention import records
from tests.retention.test_retention_runs import _by_type, _run
from tests.support import auth, make_token

ADMIN = auth(make_token("admin", sub="dpo"))
MANAGER = auth(make_token("hub_manager", sub="hm", agency="LCC", agency_type="council", hubs=["north"]))
OTHER_MANAGER = auth(make_token("hub_manager", sub="hm2", agency="LCC", agency_type="council", hubs=["south"]))
PARTNER = auth(make_token("partner_system", sub="sys-MAT1", agency="MAT1", agency_type="maternity"))


async def _deliver(
    source: async_sessionmaker[AsyncSession], event_type: str, *targets: httpx.AsyncClient
) -> dict[str, Any]:
    """The last event of `event_type` in the producer's outbox, delivered to each target as the relay would."""
    async with source() as session:
        row = (
            await session.execute(
                text("SELECT id, source, data FROM outbox_events WHERE type = :t ORDER BY time DESC LIMIT 1"),
                {"t": event_type},
            )
        ).one()
    event = CloudEvent(id=str(row.id), source=row.source, type=event_type, time=datetime.now(UTC), data=row.data)
    body = event.model_dump_json()
    headers = {"content-type": "application/cloudevents+json", **sign_headers(DEV_EVENT_SECRET, event.id, body)}
    for target in targets:
        response = await target.post("/v1/events", content=body, headers=headers)
        assert response.status_code == 200, response.text
    data: dict[str, Any] = row.data
    return data


async def _world(
    cases: async_sessionmaker[AsyncSession],
    referrals: async_sessionmaker[AsyncSession],
    outcomes: async_sessionmaker[AsyncSession],
) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID, uuid.UUID]:
    """A family (parent and child) in cases, a referral naming both (matched) and an enrolment of both."""
    async with cases() as session, session.begin():
        family_id, (parent, child) = await records.family(
            session, children_born=[date(2015, 1, 1)], closed_on=date(2021, 1, 1)
        )
    async with referrals() as session, session.begin():
        rid = await records.referral(session, status="signposted", decided_on=date(2020, 1, 1), family_id=family_id)
        await session.execute(
            text("UPDATE referral_people SET matched_person_id = :p, match_status = 'matched' WHERE referral_id = :r"),
            {"p": parent, "r": rid},
        )
        await session.execute(
            text(
                "INSERT INTO referral_people (id, referral_id, position, ref, role, given_name, family_name,"
                " date_of_birth, match_status, matched_person_id, match_candidates)"
                " VALUES (:id, :r, 1, 'child_1', 'child', 'Mia', 'O''Neill', '2015-01-01', 'matched', :p, '[]')"
            ),
            {"id": uuid.uuid4(), "r": rid, "p": child},
        )
    async with outcomes() as session, session.begin():
        await records.enrolment(session, family_id=family_id, people=[parent, child], closed_on=date(2021, 1, 1))
    return family_id, parent, child, rid


async def test_a_legal_hold_reaches_every_service_and_keeps_the_family_until_released(
    cases_client: httpx.AsyncClient,
    referrals_client: httpx.AsyncClient,
    outcomes_client: httpx.AsyncClient,
    cases_sessions: async_sessionmaker[AsyncSession],
    referrals_sessions: async_sessionmaker[AsyncSession],
    outcomes_sessions: async_sessionmaker[AsyncSession],
) -> None:
    family_id, _, _, rid = await _world(cases_sessions, referrals_sessions, outcomes_sessions)
    holds = f"/v1/families/{family_id}/legal-holds"
    assert (
        await cases_client.post(holds, json={"reason": "care proceedings"}, headers=OTHER_MANAGER)
    ).status_code == 404
    assert (await cases_client.post(holds, json={"reason": "x"}, headers=MANAGER)).status_code == 422
    placed = await cases_client.post(holds, json={"reason": "care proceedings"}, headers=MANAGER)
    assert placed.status_code == 201, placed.text
    hold = placed.json()
    assert hold["placed_by"] == "hm@LCC" and hold["released_at"] is None
    event = await _deliver(cases_sessions, "family.legal_hold_placed", referrals_client, outcomes_client)
    assert "care proceedings" not in str(event)  # the reason stays in cases

    far = date(2060, 1, 1)
    assert _by_type(await _run(cases_client, as_of=far, dry_run=True), "cases.family") == {str(family_id): "held"}
    assert _by_type(await _run(referrals_client, as_of=far, dry_run=True), "referrals.not_accepted") == {
        str(rid): "held"
    }
    assert _by_type(await _run(outcomes_client, as_of=far, dry_run=True), "outcomes.family") == {str(family_id): "held"}

    released = await cases_client.post(
        f"{holds}/{hold['id']}/release", json={"reason": "proceedings ended"}, headers=MANAGER
    )
    assert released.status_code == 200 and released.json()["released_by"] == "hm@LCC"
    await _deliver(cases_sessions, "family.legal_hold_released", referrals_client, outcomes_client)
    again = await cases_client.post(f"{holds}/{hold['id']}/release", json={"reason": "twice"}, headers=MANAGER)
    assert again.status_code == 409
    assert _by_type(await _run(referrals_client, as_of=far, dry_run=True), "referrals.not_accepted") == {
        str(rid): "would go"
    }
    assert _by_type(await _run(outcomes_client, as_of=far, dry_run=True), "outcomes.family") == {
        str(family_id): "would go"
    }
    async with cases_sessions() as session:
        actions = (
            (await session.execute(text("SELECT action FROM audit_log WHERE record_id = :f"), {"f": str(family_id)}))
            .scalars()
            .all()
        )
        assert {"legal_hold", "legal_hold_release"} <= set(actions)


async def test_erasure_reaches_every_service_and_keeps_the_other_members(
    cases_client: httpx.AsyncClient,
    referrals_client: httpx.AsyncClient,
    outcomes_client: httpx.AsyncClient,
    cases_sessions: async_sessionmaker[AsyncSession],
    referrals_sessions: async_sessionmaker[AsyncSession],
    outcomes_sessions: async_sessionmaker[AsyncSession],
) -> None:
    from cases.models import FamilyMember, Person, PersonErasure
    from outcomes.models import AttendanceRecord, EnrolmentMember
    from outcomes.models import Person as OutcomesPerson
    from referrals.models import ReferralPerson

    family_id, parent, child, rid = await _world(cases_sessions, referrals_sessions, outcomes_sessions)
    body = {"reason": "the young person asked for erasure; no overriding interest"}
    assert (await cases_client.post(f"/v1/people/{child}/erasure", json=body, headers=MANAGER)).status_code == 403
    # while a family of theirs is under a legal hold the person is kept (Art. 17(3)(e))
    hold = await cases_client.post(f"/v1/families/{family_id}/legal-holds", json={"reason": "a claim"}, headers=ADMIN)
    refused = await cases_client.post(f"/v1/people/{child}/erasure", json=body, headers=ADMIN)
    assert refused.status_code == 409 and "legal hold" in refused.text
    release = f"/v1/families/{family_id}/legal-holds/{hold.json()['id']}/release"
    assert (await cases_client.post(release, json={"reason": "claim settled"}, headers=ADMIN)).status_code == 200
    erased = await cases_client.post(f"/v1/people/{child}/erasure", json=body, headers=ADMIN)
    assert erased.status_code == 200, erased.text
    event = await _deliver(cases_sessions, "person.erased", referrals_client, outcomes_client)
    assert set(event) == {"person_id", "erasure_id", "erased_at", "identifier_hashes"}  # no names, no identifiers

    async with cases_sessions() as session:
        people = {
            p.id: p for p in (await session.execute(select(Person).where(Person.id.in_([parent, child])))).scalars()
        }
        assert people[child].given_name == "[erased]" and people[child].date_of_birth is None
        assert people[parent].given_name == "Zoë" and people[parent].date_of_birth == date(1980, 5, 17)
        assert await session.scalar(select(func.count()).select_from(PersonErasure)) == 1
        members = await session.scalar(
            select(func.count()).select_from(FamilyMember).where(FamilyMember.family_id == family_id)
        )
        assert members == 2
    async with referrals_sessions() as session:
        left = (await session.execute(select(ReferralPerson).where(ReferralPerson.referral_id == rid))).scalars().all()
        assert [p.matched_person_id for p in left] == [parent]
        tomb = await session.execute(text("SELECT record_type FROM retention_tombstones"))
        assert tomb.scalars().all() == ["referral_person"]
    async with outcomes_sessions() as session:
        ids = set((await session.execute(select(OutcomesPerson.id))).scalars())
        assert child not in ids and parent in ids
        assert (
            await session.scalar(
                select(func.count()).select_from(AttendanceRecord).where(AttendanceRecord.person_id == child)
            )
            == 0
        )
        assert (
            await session.scalar(
                select(func.count()).select_from(EnrolmentMember).where(EnrolmentMember.person_id == parent)
            )
            == 1
        )


async def test_rectification_corrects_every_copy_with_history(
    cases_client: httpx.AsyncClient,
    referrals_client: httpx.AsyncClient,
    outcomes_client: httpx.AsyncClient,
    cases_sessions: async_sessionmaker[AsyncSession],
    referrals_sessions: async_sessionmaker[AsyncSession],
    outcomes_sessions: async_sessionmaker[AsyncSession],
) -> None:
    from outcomes.models import Person as OutcomesPerson
    from referrals.models import ReferralPerson

    _, parent, _, _ = await _world(cases_sessions, referrals_sessions, outcomes_sessions)
    url = f"/v1/people/{parent}/rectification"
    bad = await cases_client.post(url, json={"changes": {"nhs_number": "1234567890"}, "reason": "typo"}, headers=ADMIN)
    assert bad.status_code == 422 and "nhs_number" in bad.text
    empty = await cases_client.post(url, json={"changes": {}, "reason": "nothing"}, headers=ADMIN)
    assert empty.status_code == 422 and "changes" in empty.text
    fixed = await cases_client.post(
        url,
        json={"changes": {"family_name": "Smith", "nhs_number": "9434765919"}, "reason": "married name"},
        headers=ADMIN,
    )
    assert fixed.status_code == 200, fixed.text
    await _deliver(cases_sessions, "person.rectified", referrals_client, outcomes_client)
    history = (await cases_client.get(f"/v1/people/{parent}/rectifications", headers=ADMIN)).json()
    assert [(h["before"]["family_name"], h["after"]["family_name"]) for h in history] == [("O'Neill", "Smith")]
    async with referrals_sessions() as session:
        names = (
            await session.execute(
                select(ReferralPerson.family_name, ReferralPerson.nhs_number).where(
                    ReferralPerson.matched_person_id == parent
                )
            )
        ).all()
        assert names == [("Smith", "9434765919")]
    async with outcomes_sessions() as session:
        assert (await session.get(OutcomesPerson, parent)).nhs_number == "9434765919"  # type: ignore[union-attr]


async def test_consent_withdrawal_stops_partner_webhooks_and_flags_the_case(
    cases_client: httpx.AsyncClient,
    referrals_client: httpx.AsyncClient,
    cases_sessions: async_sessionmaker[AsyncSession],
    referrals_sessions: async_sessionmaker[AsyncSession],
) -> None:
    from cases.models import Case

    async with cases_sessions() as session, session.begin():
        family_id, _ = await records.family(session, children_born=[date(2020, 1, 1)], closed_on=None, open_case=True)
        case_id = await session.scalar(select(Case.id).where(Case.family_id == family_id))
    async with referrals_sessions() as session, session.begin():
        withdrawn = await records.referral(session, status="received", decided_on=None, family_id=family_id)
        kept = await records.referral(session, status="received", decided_on=None)
        await session.execute(text("UPDATE referrals SET case_id = :c WHERE id = :r"), {"c": case_id, "r": withdrawn})
        await session.execute(
            text(
                "INSERT INTO event_subscriptions (id, url, event_types, secret, owner_agency)"
                " VALUES (:id, 'https://partner.example/hook', ARRAY['referral.status_changed'], 's', 'MAT1')"
            ),
            {"id": uuid.uuid4()},
        )

    url = f"/v1/referrals/{withdrawn}/consent-withdrawal"
    body = {"withdrawn_by": "mother", "method": "phone call"}
    other = auth(make_token("partner_system", sub="sys-X", agency="OTHER", agency_type="maternity"))
    assert (await referrals_client.post(url, json=body, headers=other)).status_code == 404
    recorded = await referrals_client.post(url, json=body, headers=PARTNER)
    assert recorded.status_code == 201, recorded.text
    assert (await referrals_client.post(url, json=body, headers=PARTNER)).status_code == 409
    await _deliver(referrals_sessions, "referral.consent_withdrawn", cases_client)
    flags = (await cases_client.get(f"/v1/cases/{case_id}/consent-withdrawals", headers=MANAGER)).json()
    assert [f["referral_id"] for f in flags] == [str(withdrawn)]

    for rid in (withdrawn, kept):
        screened = await referrals_client.post(f"/v1/referrals/{rid}/screening", headers=MANAGER)
        assert screened.status_code == 200, screened.text
    async with referrals_sessions() as session:
        delivered = await session.execute(
            text(
                "SELECT e.subject FROM outbox_deliveries d JOIN outbox_events e ON e.id = d.event_id"
                " JOIN event_subscriptions s ON s.id = d.subscription_id WHERE s.owner_agency = 'MAT1'"
            )
        )
        assert delivered.scalars().all() == [str(kept)]
