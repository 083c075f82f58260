"""What the referrals service keeps and for how long (record types `referrals.not_accepted`, `referrals.decided`
in shared/retention/schedule.yaml): a referral is erased whole — its people, history and idempotency record go
with it — and only its id is left, in a tombstone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from referrals.models import IdempotencyKey, Referral, platform, retention
from shared.retention.audit_prune import AuditLogSource
from shared.retention.engine import Candidate, RetentionSource
from shared.retention.outbox import OutboxSource
from shared.retention.schedule import RetentionRule


class ReferralsByOutcome:
    """Referrals in one of `statuses`, whose clock is their decision (or withdrawal)."""

    def __init__(self, record_type: str, statuses: tuple[str, ...]) -> None:
        self.record_type = record_type
        self.statuses = statuses

    async def due(self, session: AsyncSession, rule: RetentionRule, as_of: date) -> list[Candidate]:
        clock = func.coalesce(Referral.decided_at, Referral.withdrawn_at)
        before = datetime.combine(rule.cutoff(as_of), time.max, tzinfo=UTC)
        rows = await session.execute(
            select(Referral.id, Referral.family_id, Referral.status, clock.label("clock"))
            .where(Referral.status.in_(self.statuses), clock <= before)
            .order_by(clock, Referral.id)
        )
        return [
            Candidate(
                record_type=self.record_type,
                record_id=str(r.id),
                due_on=rule.due_on(r.clock.date()),
                reason=f"{r.status} on {r.clock.date().isoformat()}; {rule.describe()}",
                family_id=r.family_id,
            )
            for r in rows
        ]

    async def erase(self, session: AsyncSession, rule: RetentionRule, candidates: list[Candidate]) -> None:
        ids = [c.record_id for c in candidates]
        await session.execute(delete(IdempotencyKey).where(IdempotencyKey.referral_id.in_(ids)))
        await session.execute(delete(Referral).where(Referral.id.in_(ids)))  # people and history cascade


def retention_sources(actor: str) -> list[RetentionSource]:
    """In run order; the audit log last, so that the run's own rows are not what it prunes."""
    return [
        ReferralsByOutcome("referrals.not_accepted", ("signposted", "no_further_action", "withdrawn")),
        ReferralsByOutcome("referrals.decided", ("accepted", "stepped_up")),
        OutboxSource(platform),
        AuditLogSource(platform, retention, actor=actor),
    ]
