"""`seed_all`: the demo loaded into referrals, cases and outcomes, one transaction per service, and its summary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from earlyhelp.demo import cases, outcomes, referrals
from earlyhelp.demo.families import demo_families, practitioner_numbers
from earlyhelp.demo.loading import Progress, database_url, transaction
from earlyhelp.platform import CASES, OUTCOMES, REFERRALS


async def seed_all(
    server_url: str,
    *,
    families: int,
    seed: int,
    progress: Progress | None = None,
    chunk: int = 1000,
    urls: Mapping[str, str] | None = None,
) -> list[str]:
    """Seed referrals, cases and outcomes consistently; one transaction per service. Returns summary lines.

    Each service's database is `server_url` with the service's database name, or `urls[service]` when given.
    """
    report = progress or (lambda _phase, _done, _total: None)
    plan = demo_families(families, seed=seed)
    async with transaction(database_url(server_url, REFERRALS, urls)) as session:
        referred = await referrals.load(session, plan, seed=seed, chunk=chunk, report=report)
    async with transaction(database_url(server_url, CASES, urls)) as session:
        added = await cases.load(
            session, plan, seed=seed, practitioners=practitioner_numbers(len(plan)), chunk=chunk, report=report
        )
        assessed = [f["family_id"] for f in plan if f["case"] is not None and f["case"]["assessed_on"] is not None]
        completed, closed = await cases.case_events(session, assessed)
    async with transaction(database_url(server_url, OUTCOMES, urls)) as session:
        enrolled = await outcomes.enrol(session, plan, seed=seed, completed=completed, closed=closed, report=report)
    return summary(plan, seed=seed, referred=referred, added=added, enrolled=enrolled)


def summary(
    plan: Sequence[dict[str, Any]], *, seed: int, referred: int, added: Mapping[str, int], enrolled: outcomes.Enrolled
) -> list[str]:
    """What the demo is (one line, in families), then what each service's load wrote (the rows it added).

    Every demo family was referred once; cases knows those whose referral was accepted (it opened their case) and
    those known from an earlier case; the assessed ones are enrolled in outcomes.
    """
    accepted = sum(1 for f in plan if f["status"] == "accepted")
    known = sum(1 for f in plan if f["family_id"] is not None)
    assessed = [f for f in plan if f["case"] is not None and f["case"]["assessed_on"] is not None]
    closed = sum(1 for f in assessed if f["case"]["closed_on"] is not None)
    return [
        f"demo: {len(plan)} families (seed {seed}), each referred once, {accepted} of the referrals accepted; "
        f"{known} families known to cases ({accepted} through their accepted referral, {known - accepted} from an "
        f"earlier case); {len(assessed)} families assessed and so enrolled in outcomes ({closed} with their case "
        "closed)",
        f"referrals: {referred} referrals added ({len(plan) - referred} already there)",
        "cases: " + ", ".join(f"{n} {what}" for what, n in added.items()) + " added",
        f"outcomes: {enrolled.enrolled} families enrolled ({enrolled.already} already), {enrolled.closures} case "
        f"closures recorded, observations for {enrolled.observed} families",
    ]
