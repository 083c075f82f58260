"""Look-ahead for a page of families: load every join the query selects before graphql-core walks the page.

Without it graphql-core discovers the joins level by level, running one resolver (a coroutine, often a task) per
family per join before each batch call can start. `families` instead reads its own selection and starts the
batches at once: cases, referrals, progress and claims of every family on the page, then, when the cases arrive,
the lead workers and plans of the cases the query reaches. It loads exactly what the resolvers would load for
that selection (the same loaders, the same keys), so the upstream calls are the same ones, started sooner; the
resolvers then find their values in the request's loaders and answer at once (`gateway.loaders.loaded`). A load
that fails stays in its loader, and the resolver that needs it raises the error where it always did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Iterator
from typing import Any

from strawberry.dataloader import DataLoader
from strawberry.types.nodes import SelectedField, Selection

from gateway.context import Info
from gateway.loaders import DataLoaders, load_all
from gateway.types.people import current_case_of
from gateway.upstream.cases import CaseRead


async def prefetch_families(info: Info, family_ids: list[str]) -> None:
    """Load the joins the `families` selection asks for, for these families; errors stay in the loaders."""
    page = [s for field in info.selected_fields for s in field.selections]
    family = _under(page, "edges", "node") + _under(page, "nodes")
    selected = _names(family)
    loaders = info.context.data_loaders
    by_family: dict[int, DataLoader[str, Any]] = {}
    for name, loader in (
        ("referrals", loaders.referrals_by_family),
        ("progress", loaders.progress_by_family),
        ("claimable", loaders.progress_by_family),
        ("employmentRoute", loaders.progress_by_family),
        ("claims", loaders.claims_by_family),
    ):
        if name in selected:
            by_family[id(loader)] = loader
    pending: list[Awaitable[Any]] = [load_all(loader, family_ids) for loader in by_family.values()]
    if "currentCase" in selected or "cases" in selected:
        current = _under(family, "currentCase") if "currentCase" in selected else None
        every = _under(family, "cases") if "cases" in selected else None
        pending.append(_cases_then_joins(loaders, family_ids, current, every))
    await asyncio.gather(*pending, return_exceptions=True)


async def _cases_then_joins(
    loaders: DataLoaders,
    family_ids: list[str],
    current: list[Selection] | None,
    every: list[Selection] | None,
) -> None:
    await load_all(loaders.cases_by_family, family_ids)
    groups = await asyncio.gather(*(loaders.cases_by_family.load(family_id) for family_id in family_ids))
    workers: list[str] = []
    plans: list[str] = []
    if current is not None:
        currents = [case for group in groups if (case := current_case_of(group)) is not None]
        _case_joins(currents, current, workers, plans)
    if every is not None:
        _case_joins([case for group in groups for case in group], every, workers, plans)
    # one batch per loader for both selections, as the resolvers' loads in one tick would make
    await asyncio.gather(load_all(loaders.worker, workers), load_all(loaders.plan_by_case, plans))


def _case_joins(cases: list[CaseRead], selections: list[Selection], workers: list[str], plans: list[str]) -> None:
    selected = _names(selections)
    if "leadWorker" in selected:
        workers += [case.lead_worker_id for case in cases if case.lead_worker_id]
    if "plan" in selected:
        plans += [case.id for case in cases]


def _fields(selections: Iterable[Selection]) -> Iterator[SelectedField]:
    """The fields execution will resolve: fragments flattened, `@skip`/`@include` applied. Every type on the
    way (connection, edge, family, case) is an object type, so a fragment that passed validation applies."""
    for selection in selections:
        if not _included(selection.directives):
            continue
        if isinstance(selection, SelectedField):
            yield selection
        else:
            yield from _fields(selection.selections)


def _included(directives: dict[str, dict[str, Any]]) -> bool:
    # Only a literal or variable `true`/`false` decides; anything else reads as "not selected", so the look-ahead
    # never loads what execution would skip.
    skip = directives.get("skip")
    include = directives.get("include")
    return (skip is None or skip.get("if") is False) and (include is None or include.get("if") is True)


def _under(selections: Iterable[Selection], *path: str) -> list[Selection]:
    """The selections under the fields named by `path`, every alias of each merged."""
    level = list(selections)
    for name in path:
        level = [s for field in _fields(level) if field.name == name for s in field.selections]
    return level


def _names(selections: Iterable[Selection]) -> set[str]:
    return {field.name for field in _fields(selections)}
