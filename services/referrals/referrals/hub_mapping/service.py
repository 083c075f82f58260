"""The rules of the hub mapping: one hub per district, the whole mapping replaced at once and audited, read by
every new referral (so a new mapping applies to the next referral without a restart)."""

from __future__ import annotations

from datetime import UTC, datetime

from referrals.hub_mapping.repository import HubMappingRepository
from referrals.hub_mapping.schemas import HubMappingRead, HubMappingUpdate
from referrals.models import HubDistrict, platform
from shared.audit import record_access
from shared.auth import Principal
from shared.errors import UnprocessableContent, field_error


def districts_of(update: HubMappingUpdate) -> dict[str, str]:
    """{district: hub}, or a 422 naming every district listed under two hubs (or twice under one)."""
    seen: dict[str, str] = {}
    errors = []
    for hub, districts in update.hubs.items():
        for i, d in enumerate(districts):
            if d in seen:
                where = f"hub {seen[d]!r}" if seen[d] != hub else "this hub already"
                errors.append(field_error(f"/hubs/{hub}/{i}", f"{d} is listed under {where}", "duplicate_district"))
            else:
                seen[d] = hub
    if errors:
        raise UnprocessableContent("A postcode district can belong to one hub only", errors=errors)
    return seen


def to_read(rows: list[HubDistrict], default_hub: str) -> HubMappingRead:
    hubs: dict[str, list[str]] = {}
    for row in rows:
        hubs.setdefault(row.hub, []).append(row.district)
    latest = max(rows, key=lambda r: r.updated_at, default=None)
    return HubMappingRead(
        hubs={hub: sorted(ds) for hub, ds in sorted(hubs.items())},
        districts=len(rows),
        default_hub=default_hub,
        updated_at=latest.updated_at if latest else None,
        updated_by=latest.updated_by if latest else None,
    )


async def read_mapping(repo: HubMappingRepository, *, default_hub: str) -> HubMappingRead:
    return to_read(await repo.all(), default_hub)


def check_hubs_known(update: HubMappingUpdate, known: set[str]) -> None:
    """A 422 naming every hub of the mapping the cases service does not serve (a typo would send referrals to a
    hub no one works in)."""
    unknown = [hub for hub in update.hubs if hub not in known]
    if unknown:
        served = ", ".join(sorted(known)) or "none"
        errors = [field_error(f"/hubs/{hub}", f"{hub!r} is not a hub of the cases service ({served})", "unknown_hub")
                  for hub in unknown]  # fmt: skip
        raise UnprocessableContent(f"Unknown hubs: {', '.join(unknown)}", errors=errors)


async def replace_mapping(
    repo: HubMappingRepository,
    update: HubMappingUpdate,
    *,
    actor: Principal | str,
    default_hub: str,
    known_hubs: set[str],
) -> HubMappingRead:
    """Replace the mapping in force with `update`, audited (who, how many hubs and districts); every hub must be
    one of `known_hubs` (the cases service's)."""
    districts = districts_of(update)
    check_hubs_known(update, known_hubs)
    who = actor.actor if isinstance(actor, Principal) else actor
    await repo.replace(districts, by=who, at=datetime.now(UTC))
    await record_access(
        repo.session,
        platform,
        actor=actor,
        action="update",
        record_type="hub_mapping",
        record_ids=["hub_districts"],
        purpose="load the council's hub postcode mapping",
        details={"hubs": {hub: len(ds) for hub, ds in update.hubs.items()}, "districts": len(districts)},
    )
    return await read_mapping(repo, default_hub=default_hub)
