"""The retention run through each service's admin API, on a fixed clock: a dry run lists exactly what is due and
changes nothing; the run erases exactly that, leaves a tombstone without personal data, keeps a held family,
and the audit log it prunes still verifies."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.audit import record_access, verify_chain
from tests.retention import records
from tests.support import auth, make_token

ADMIN = auth(make_token("admin", sub="dpo"))
RUN = "/v1/admin/retention/run"


async def _run(client: httpx.AsyncClient, *, as_of: date, dry_run: bool) -> dict[str, Any]:
    response = await client.post(RUN, json={"as_of": as_of.isoformat(), "dry_run": dry_run}, headers=ADMIN)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _by_type(report: dict[str, Any], record_type: str) -> dict[str, str]:
    return {i["record_id"]: i["outcome"] for i in report["items"] if i["record_type"] == record_type}


async def test_referrals_run_erases_exactly_what_is_due_and_keeps_a_held_family(
    referrals_client: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession]
) -> None:
    from referrals.models import Referral, ReferralPerson, retention

    held_family = uuid.uuid4()
    async with referrals_sessions() as session, session.begin():
        due = await records.referral(session, status="signposted", decided_on=date(2022, 1, 10))
        withdrawn = await records.referral(session, status="withdrawn", decided_on=date(2022, 3, 1))
        recent = await records.referral(session, status="no_further_action", decided_on=date(2023, 6, 1))
        undecided = await records.referral(session, status="received", decided_on=None)
        accepted = await records.referral(session, status="accepted", decided_on=date(2022, 1, 10))
        held = await records.referral(session, status="signposted", decided_on=date(2021, 1, 1), family_id=held_family)
        await session.execute(
            retention.legal_holds.insert().values(
                id=uuid.uuid4(), family_id=held_family, reason="litigation", placed_by="manager"
            )
        )

    as_of = date(2024, 3, 1)  # two years after 1 March 2022: the withdrawal of that day is due, not later ones
    dry = await _run(referrals_client, as_of=as_of, dry_run=True)
    assert dry["dry_run"] is True
    assert _by_type(dry, "referrals.not_accepted") == {
        str(due): "would go",
        str(withdrawn): "would go",
        str(held): "held",
    }
    assert _by_type(dry, "referrals.decided") == {}  # accepted: kept six years
    item = next(i for i in dry["items"] if i["record_id"] == str(due))
    assert item["due_on"] == "2024-01-10" and "signposted on 2022-01-10" in item["reason"]
    async with referrals_sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Referral)) == 6  # nothing changed

    done = await _run(referrals_client, as_of=as_of, dry_run=False)
    assert _by_type(done, "referrals.not_accepted") == {str(due): "erased", str(withdrawn): "erased", str(held): "held"}
    async with referrals_sessions() as session:
        left = set((await session.execute(select(Referral.id))).scalars())
        assert left == {recent, undecided, accepted, held}
        assert (
            await session.scalar(
                select(func.count()).select_from(ReferralPerson).where(ReferralPerson.referral_id.in_([due, withdrawn]))
            )
            == 0
        )
        tombstones = (await session.execute(select(retention.tombstones))).mappings().all()
        assert {(t["record_type"], t["record_id"]) for t in tombstones} == {
            ("referrals.not_accepted", str(due)),
            ("referrals.not_accepted", str(withdrawn)),
        }
        flat = " ".join(str(v) for t in tombstones for v in t.values())
        assert "9991196943" not in flat and "O'Neill" not in flat and "LS6" not in flat
        audited = await session.execute(
            text("SELECT record_id FROM audit_log WHERE action = 'retention.erase' AND actor = 'dpo'")
        )
        assert set(audited.scalars()) == {str(due), str(withdrawn)}

    # a second run on the same clock finds nothing more to erase
    again = await _run(referrals_client, as_of=as_of, dry_run=False)
    assert _by_type(again, "referrals.not_accepted") == {str(held): "held"}


async def test_only_an_admin_runs_retention(referrals_client: httpx.AsyncClient) -> None:
    for role in ("hub_manager", "practitioner", "partner_system", "analyst"):
        response = await referrals_client.post(RUN, json={"dry_run": True}, headers=auth(make_token(role)))
        assert response.status_code == 403, role
    bad = await referrals_client.post(RUN, json={"dry_run": True, "as_of": "not a date"}, headers=ADMIN)
    assert bad.status_code == 422 and "as_of" in bad.text


async def test_pruned_audit_log_still_verifies_and_a_later_removal_is_caught(
    referrals_client: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession]
) -> None:
    from referrals.models import platform, retention

    async with referrals_sessions() as session, session.begin():
        await record_access(session, platform, actor="worker", action="read", record_type="referral",
                            record_ids=range(5))  # fmt: skip
    # six years on from a day after today every row written so far is older than the period
    as_of = date.today().replace(year=date.today().year + 7)
    dry = await _run(referrals_client, as_of=as_of, dry_run=True)
    (item,) = [i for i in dry["items"] if i["record_type"] == "audit.log"]
    assert item["rows"] >= 5 and item["outcome"] == "would go"

    await _run(referrals_client, as_of=as_of, dry_run=False)
    async with referrals_sessions() as session:
        remaining = (await session.execute(text("SELECT action FROM audit_log ORDER BY seq"))).scalars().all()
        assert "read" not in remaining  # the old rows are gone
        checkpoint = (await session.execute(select(retention.audit_checkpoints))).mappings().one()
        assert checkpoint["rows_pruned"] == item["rows"]
        report = await verify_chain(session)
        assert report.ok, report

        # the trigger still refuses a removal outside a checkpoint, and a removal that slipped past is detected
        await record_access(session, platform, actor="worker", action="read", record_type="referral",
                            record_ids=range(3))  # fmt: skip
        with pytest.raises(DBAPIError, match="append-only"):
            async with session.begin_nested():
                await session.execute(text("DELETE FROM audit_log"))
        await session.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_immutable"))
        first = (await session.execute(text("SELECT min(seq) FROM audit_log"))).scalar_one()
        await session.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": first})
        await session.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_immutable"))
        assert not (await verify_chain(session)).ok
