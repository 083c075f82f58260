"""The append-only, hash-chained access log: who read or changed which record, when and why."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shared.auth import Principal
from shared.platform_tables import PlatformTables


async def record_access(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    actor: Principal | str,
    action: str,
    record_type: str,
    record_ids: Iterable[Any],
    purpose: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one audit row per record (one statement however many records)."""
    who = actor.actor if isinstance(actor, Principal) else actor
    rows = [
        {
            "actor": who,
            "action": action,
            "record_type": record_type,
            "record_id": str(record_id),
            "purpose": purpose,
            "details": details,
            "hash": "",
        }
        for record_id in record_ids
    ]
    if rows:
        await session.execute(tables.audit_log.insert(), rows)


@dataclass(frozen=True)
class ChainReport:
    rows: int
    ok: bool
    first_bad_seq: int | None = None
    reason: str | None = None


_VERIFY = """
    WITH chain AS (
        SELECT seq, hash, prev_hash,
               coalesce(lag(hash) OVER (ORDER BY seq), {checkpoint}) AS expected_prev,
               row_number() OVER (ORDER BY seq) AS n,
               audit_log_digest(prev_hash, seq, occurred_at, actor, action, record_type, record_id,
                                purpose, details) AS recomputed
        FROM audit_log
    )
    SELECT (SELECT count(*) FROM chain) AS total,
           (SELECT seq FROM chain WHERE hash <> recomputed ORDER BY seq LIMIT 1) AS bad_hash,
           (SELECT seq FROM chain WHERE prev_hash IS DISTINCT FROM expected_prev ORDER BY seq LIMIT 1) AS bad_link
    """
# After a retention run has pruned the oldest rows (shared/retention/audit_prune.py), the first remaining row links
# to the hash its latest checkpoint kept; a row removed after the checkpoint still breaks the chain.
_CHECKPOINT = "(SELECT through_hash FROM audit_checkpoints ORDER BY through_seq DESC LIMIT 1)"
_HAS_CHECKPOINTS = text("SELECT to_regclass('audit_checkpoints') IS NOT NULL")


async def verify_chain(conn: AsyncSession | AsyncConnection) -> ChainReport:
    """Recompute every row's hash and link in one set-based query."""
    checkpointed = bool((await conn.execute(_HAS_CHECKPOINTS)).scalar())
    query = _VERIFY.format(checkpoint=_CHECKPOINT if checkpointed else "NULL")
    row = (await conn.execute(text(query))).one()
    total, bad_hash, bad_link = int(row.total), row.bad_hash, row.bad_link
    if bad_hash is None and bad_link is None:
        return ChainReport(rows=total, ok=True)
    candidates = [s for s in (bad_hash, bad_link) if s is not None]
    first = min(candidates)
    reason = "row content does not match its hash" if first == bad_hash else "row does not link to its predecessor"
    return ChainReport(rows=total, ok=False, first_bad_seq=int(first), reason=reason)
