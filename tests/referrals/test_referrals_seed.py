"""Demo data: deterministic for a seed, every status across the three hubs, and seeding twice does nothing."""

from __future__ import annotations

from datetime import UTC, datetime, time

from sqlalchemy import text

from referrals.seed import seed_demo
from tests.support import rollback_sessionmaker

ANCHOR = datetime.combine(datetime.now(UTC).date(), time(9), tzinfo=UTC)
QUERY = text(
    "SELECT r.id, r.status, r.hub, r.kind, p.given_name, p.family_name, p.nhs_number, p.upn"
    " FROM referrals r JOIN referral_people p ON p.referral_id = r.id AND p.position = 0 ORDER BY r.id"
)


async def _seed_and_read(url: str) -> list[tuple[object, ...]]:
    async with rollback_sessionmaker(url) as sessions, sessions() as session:
        result = await seed_demo(session, seed=7, count=21, anchor=ANCHOR)
        assert isinstance(result, dict)
        assert result["referrals_seeded"] == 21
        assert await seed_demo(session, seed=7, count=21, anchor=ANCHOR) is False
        rows = [tuple(r) for r in (await session.execute(QUERY)).all()]
    return rows


async def test_seed_is_deterministic_and_covers_every_status_in_every_hub(referrals_db: str) -> None:
    first = await _seed_and_read(referrals_db)
    second = await _seed_and_read(referrals_db)
    assert first == second
    assert len(first) == 21
    pairs = {(row[1], row[2]) for row in first}
    statuses = {"received", "screening", "accepted", "signposted", "no_further_action", "stepped_up", "withdrawn"}
    assert {s for s, _ in pairs} == statuses
    assert {h for _, h in pairs} == {"north", "central", "south"}
    assert {row[3] for row in first} == {"maternity", "school"}
