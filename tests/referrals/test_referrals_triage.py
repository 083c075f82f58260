"""Triage: the status lifecycle, decisions and their rules, consent, events and deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from referrals.models import Referral, platform
from tests.referrals.conftest import MatchNow, consent, create_maternity, hub_manager, partner


async def _events(sessions: async_sessionmaker[AsyncSession], referral_id: str) -> list[tuple[str, dict, str | None]]:
    e = platform.outbox_events
    async with sessions() as session:
        rows = (
            await session.execute(
                select(e.c.type, e.c.data, e.c.audience_agency).where(e.c.subject == referral_id).order_by(e.c.time)
            )
        ).all()
    return [(r.type, r.data, r.audience_agency) for r in rows]


async def test_screen_then_accept_publishes_events_for_cases_and_partner(
    client: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession], match_now: MatchNow
) -> None:
    referral = (await create_maternity(client)).json()
    rid = referral["id"]
    assert referral["matching"] == "pending"  # intake answers before anyone asks the person index
    manager = hub_manager("north")
    screened = await client.post(f"/v1/referrals/{rid}/screening", headers=manager, json={"note": "Called mum"})
    assert screened.status_code == 200, screened.text
    assert screened.json()["status"] == "screening"
    # nobody knows yet who the family is: accepting waits for matching (a 409 that says so), declaring a new person
    # too; other decisions (stepping up a safeguarding concern) do not wait
    too_soon = await client.post(
        f"/v1/referrals/{rid}/decision", headers=manager, json={"outcome": "accepted", "reason": "Wants help"}
    )
    assert too_soon.status_code == 409 and too_soon.json()["matching"] == "pending", too_soon.text
    assert "still pending" in too_soon.json()["detail"] and too_soon.headers["retry-after"] == "2"
    unmatched = await client.put(
        f"/v1/referrals/{rid}/people/child_1/identity", headers=manager, json={"person_id": None, "reason": "new"}
    )
    assert unmatched.status_code == 409 and unmatched.json()["matching"] == "pending"
    assert await match_now() == 1
    assert await match_now() == 0  # matched once: a completed referral is never matched again
    matched = (await client.get(f"/v1/referrals/{rid}", headers=manager)).json()
    assert matched["matching"] == "completed"
    assert {p["match"]["status"] for p in matched["people"]} == {"no_match"}  # nobody in the person index yet
    accepted = await client.post(
        f"/v1/referrals/{rid}/decision", headers=manager, json={"outcome": "accepted", "reason": "Wants help"}
    )
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert body["status"] == "accepted"
    assert body["decision"]["outcome"] == "accepted"
    assert body["decision"]["reason"] == "Wants help"
    assert body["decision"]["decided_by"] == "test-hub_manager"
    assert [(h["from_status"], h["to_status"]) for h in body["history"]] == [
        (None, "received"),
        ("received", "screening"),
        ("screening", "accepted"),
    ]
    events = await _events(referrals_sessions, rid)
    types = [t for t, _, _ in events]
    assert types.count("referral.status_changed") == 2
    assert {"referral.received", "referral.decided", "referral.accepted"} <= set(types)
    status_changes = [(d, a) for t, d, a in events if t == "referral.status_changed"]
    assert all(a == "MAT-LTH" for _, a in status_changes)
    last_change = status_changes[-1][0]
    assert last_change["status"] == "accepted"
    assert last_change["previous_status"] == "screening"
    assert last_change["external_reference"] == referral["external_reference"]
    assert last_change["decision"]["outcome"] == "accepted"
    assert set(last_change) == {
        "referral_id", "external_reference", "status", "previous_status", "decision", "family_id", "case_id",
        "changed_at",
    }  # fmt: skip
    accepted_event = next(d for t, d, _ in events if t == "referral.accepted")
    assert accepted_event["referral_id"] == rid
    assert accepted_event["hub"] == "north"
    assert accepted_event["agency_type"] == "maternity"
    assert accepted_event["needs"] == ["health", "early_years"]
    assert accepted_event["consent"]["given"] is True
    assert accepted_event["expected_delivery_date"] == referral["expected_delivery_date"]
    assert [p["role"] for p in accepted_event["people"]] == ["parent_carer", "parent_carer", "child"]
    assert accepted_event["people"][1]["family_name"] == "Nguyễn"
    assert set(accepted_event["people"][0]) == {
        "ref", "role", "given_name", "family_name", "date_of_birth", "nhs_number", "upn", "postcode", "address",
        "matched_person_id", "identity",
    }  # fmt: skip


async def test_illegal_transitions_are_409(client: httpx.AsyncClient) -> None:
    rid = (await create_maternity(client)).json()["id"]
    manager = hub_manager("north")
    decided = await client.post(
        f"/v1/referrals/{rid}/decision", headers=manager, json={"outcome": "signposted", "reason": "Universal"}
    )
    assert decided.status_code == 200
    again = await client.post(
        f"/v1/referrals/{rid}/decision", headers=manager, json={"outcome": "accepted", "reason": "Changed mind"}
    )
    assert again.status_code == 409
    assert "signposted" in again.json()["detail"]
    assert (await client.post(f"/v1/referrals/{rid}/screening", headers=manager)).status_code == 409
    withdrawn = await client.post(f"/v1/referrals/{rid}/withdraw", headers=partner(), json={"reason": "Moved"})
    assert withdrawn.status_code == 409


async def test_withdraw_before_decision_then_nothing_more(
    client: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession]
) -> None:
    rid = (await create_maternity(client)).json()["id"]
    withdrawn = await client.post(f"/v1/referrals/{rid}/withdraw", headers=partner(), json={"reason": "Moved away"})
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"
    assert withdrawn.json()["withdrawn_at"] is not None
    decision = await client.post(
        f"/v1/referrals/{rid}/decision", headers=hub_manager("north"), json={"outcome": "accepted", "reason": "x"}
    )
    assert decision.status_code == 409
    assert "referral.withdrawn" in [t for t, _, _ in await _events(referrals_sessions, rid)]
    other_agency = await client.post(f"/v1/referrals/{rid}/withdraw", headers=partner("MAT-OTHER"))
    assert other_agency.status_code == 404


async def test_accepting_needs_consent_stepping_up_does_not(client: httpx.AsyncClient, match_now: MatchNow) -> None:
    manager = hub_manager("north")
    # a safeguarding concern is stepped up at once: neither consent nor matching is waited for
    concern = (await create_maternity(client, consent=consent(False), safeguarding_concern=True)).json()
    assert concern["matching"] == "pending"
    stepped = await client.post(
        f"/v1/referrals/{concern['id']}/decision",
        headers=manager,
        json={"outcome": "stepped_up", "reason": "Safeguarding: referred to children's social care"},
    )
    assert stepped.status_code == 200
    assert stepped.json()["status"] == "stepped_up"

    later = (await create_maternity(client, consent=consent(False))).json()
    await match_now()
    refused = await client.post(
        f"/v1/referrals/{later['id']}/decision", headers=manager, json={"outcome": "accepted", "reason": "ok"}
    )
    assert refused.status_code == 409
    assert "consent" in refused.json()["detail"]
    recorded = await client.put(f"/v1/referrals/{later['id']}/consent", headers=manager, json=consent(True))
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["consent"]["given"] is True
    accepted = await client.post(
        f"/v1/referrals/{later['id']}/decision", headers=manager, json={"outcome": "accepted", "reason": "Agreed"}
    )
    assert accepted.status_code == 200


async def test_accepted_without_consent_is_refused_by_the_database(
    client: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession]
) -> None:
    import pytest
    from sqlalchemy.exc import IntegrityError

    rid = (await create_maternity(client, consent=consent(False))).json()["id"]
    async with referrals_sessions() as session:
        with pytest.raises(IntegrityError):
            await session.execute(
                update(Referral)
                .where(Referral.id == rid)
                .values(status="accepted", decision_outcome="accepted", decided_at=datetime.now(UTC))
            )


async def test_decision_validation(client: httpx.AsyncClient) -> None:
    rid = (await create_maternity(client)).json()["id"]
    bad = await client.post(
        f"/v1/referrals/{rid}/decision", headers=hub_manager("north"), json={"outcome": "withdrawn", "reason": "x"}
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["pointer"] == "/outcome"
    no_reason = await client.post(
        f"/v1/referrals/{rid}/decision", headers=hub_manager("north"), json={"outcome": "signposted"}
    )
    assert no_reason.json()["errors"][0]["pointer"] == "/reason"
    not_uuid = await client.get("/v1/referrals/not-a-uuid", headers=partner())
    assert not_uuid.status_code == 422


async def test_safeguarding_concerns_sort_first_and_breaches_are_filterable(
    client: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession]
) -> None:
    ordinary = (await create_maternity(client)).json()
    urgent = (await create_maternity(client, safeguarding_concern=True)).json()
    late = (await create_maternity(client)).json()
    async with referrals_sessions() as session:
        await session.execute(
            update(Referral)
            .where(Referral.id == late["id"])
            .values(
                received_at=datetime.now(UTC) - timedelta(days=10),
                decision_due_at=datetime.now(UTC) - timedelta(days=4),
            )
        )
        await session.commit()
    manager = hub_manager("north")
    queue = (await client.get("/v1/referrals", params={"status": "received"}, headers=manager)).json()["items"]
    ids = [r["id"] for r in queue]
    assert ids[0] == urgent["id"]
    assert ids.index(late["id"]) < ids.index(ordinary["id"])  # oldest first after safeguarding
    breached = (await client.get("/v1/referrals", params={"breached": "true"}, headers=manager)).json()["items"]
    assert [r["id"] for r in breached] == [late["id"]]
    assert breached[0]["breached"] is True
    on_time = (await client.get("/v1/referrals", params={"breached": "false"}, headers=manager)).json()["items"]
    assert late["id"] not in [r["id"] for r in on_time]
    assert {ordinary["id"], urgent["id"]} <= {r["id"] for r in on_time}
