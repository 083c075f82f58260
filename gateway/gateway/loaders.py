"""Per-request DataLoaders, one small class per batch endpoint of the services.

Each loader takes its dependency (a service client bound to the caller) in `__init__` and turns one tick's
worth of keys into one batch call, so a page of N families costs a constant number of upstream calls.
Unknown or forbidden ids come back as `None` (or an empty list), as the batch endpoints simply omit them.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from strawberry.dataloader import DataLoader
from strawberry.exceptions import WrongNumberOfResultsReturned

from gateway.clients import Services
from gateway.clients.base import BATCH_MAX
from gateway.clients.cases import CasesAPI
from gateway.clients.outcomes import OutcomesAPI
from gateway.clients.referrals import ReferralsAPI
from gateway.upstream.cases import (
    CaseRead,
    ContactRead,
    FamilyRead,
    LeadWorkerAssignmentRead,
    PersonRead,
    PlanRead,
    WorkerRead,
)
from gateway.upstream.outcomes import ClaimRead, FamilyProgress
from gateway.upstream.referrals import ReferralRead
from shared.contracts import ActiveFramework

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")
M = TypeVar("M")


def loaded(loader: DataLoader[K, V], key: K, build: Callable[[V], T]) -> T | Awaitable[T]:
    """`build` of the loader's value for `key`: at once when this request has already loaded it (the family
    page's look-ahead, `gateway.prefetch`), else an awaitable. A resolver returning this is a plain function, so
    graphql-core creates a coroutine and a task only for the fields that really have to wait."""
    future = loader.cache_map.get(key)
    if future is not None and future.done() and not future.cancelled() and future.exception() is None:
        return build(future.result())
    return _build_when_loaded(loader.load(key), build)


async def load_all(loader: DataLoader[K, V], keys: Iterable[K]) -> None:
    """What `loader.load` of every key does — one batch call per `max_batch_size` keys, each key's value (or the
    call's error) left in the loader for the resolvers — without a waiting future, callback and task per key: the
    family page's look-ahead loads some 250 keys. Keys this request has already loaded, or is loading, are left as
    they are. An error is marked as seen here; the field that needs the value raises it (`loaded`)."""
    new = [key for key in dict.fromkeys(keys) if loader.cache_map.get(key) is None]
    if not new:
        return
    loop = asyncio.get_running_loop()
    futures: list[asyncio.Future[V]] = [loop.create_future() for _ in new]
    for key, future in zip(new, futures, strict=True):
        loader.cache_map.set(key, future)
    size = loader.max_batch_size or len(new)
    starts = range(0, len(new), size)
    answers = await asyncio.gather(*(loader.load_fn(new[i : i + size]) for i in starts), return_exceptions=True)
    for start, answer in zip(starts, answers, strict=True):
        chunk = futures[start : start + size]
        values: list[V | BaseException] = [answer] * len(chunk) if isinstance(answer, BaseException) else list(answer)
        if len(values) != len(chunk):
            values = [WrongNumberOfResultsReturned(expected=len(chunk), received=len(values))] * len(chunk)
        for future, value in zip(chunk, values, strict=True):
            if future.cancelled():
                continue
            if isinstance(value, BaseException):
                future.set_exception(value)
                future.exception()  # seen: no "exception never retrieved" for a field the query did not reach
            else:
                future.set_result(value)


async def _build_when_loaded(pending: Awaitable[V], build: Callable[[V], T]) -> T:
    return build(await pending)


def _one_per_key(items: Sequence[M], keys: Sequence[str], key_of: Callable[[M], str]) -> list[M | None]:
    found = {key_of(item): item for item in items}
    return [found.get(key) for key in keys]


def _many_per_key(items: Sequence[M], keys: Sequence[str], key_of: Callable[[M], str | None]) -> list[list[M]]:
    grouped: dict[str | None, list[M]] = defaultdict(list)
    for item in items:
        grouped[key_of(item)].append(item)
    return [grouped.get(key, []) for key in keys]


class FamilyDataLoader(DataLoader[str, FamilyRead | None]):
    """Families (members inline) by id: `GET cases /v1/families?ids=`."""

    def __init__(self, cases: CasesAPI) -> None:
        self.cases = cases
        super().__init__(load_fn=self._load, max_batch_size=BATCH_MAX)

    async def _load(self, keys: list[str]) -> list[FamilyRead | None]:
        return _one_per_key(await self.cases.families_by_ids(keys), keys, lambda item: item.id)


class FamiliesByPersonDataLoader(DataLoader[str, list[FamilyRead]]):
    """The families a person is a current member of: `GET cases /v1/families?person_ids=` (members inline), each
    family given to every requested person among its current members."""

    def __init__(self, cases: CasesAPI) -> None:
        self.cases = cases
        super().__init__(load_fn=self._load, max_batch_size=BATCH_MAX)

    async def _load(self, keys: list[str]) -> list[list[FamilyRead]]:
        wanted = set(keys)
        grouped: dict[str, dict[str, FamilyRead]] = defaultdict(dict)
        for family in await self.cases.families_by_person_ids(keys):
            for member in family.members:
                if member.person is not None and member.person.id in wanted and member.left_on is None:
                    grouped[member.person.id][family.id] = family
        return [list(grouped.get(key, {}).values()) for key in keys]


class CaseDataLoader(DataLoader[str, CaseRead | None]):
    """Cases by id: `GET cases /v1/cases?ids=`."""

    def __init__(self, cases: CasesAPI) -> None:
        self.cases = cases
        super().__init__(load_fn=self._load, max_batch_size=BATCH_MAX)

    async def _load(self, keys: list[str]) -> list[CaseRead | None]:
        return _one_per_key(await self.cases.cases_by_ids(keys), keys, lambda item: item.id)


class CasesByFamilyDataLoader(DataLoader[str, list[CaseRead]]):
    """Every case of a family, newest first: `GET cases /v1/cases?family_ids=`."""

    def __init__(self, cases: CasesAPI) -> None:
        self.cases = cases
        super().__init__(load_fn=self._load, max_batch_size=BATCH_MAX)

    async def _load(self, keys: list[str]) -> list[list[CaseRead]]:
        grouped = _many_per_key(await self.cases.cases_by_family_ids(keys), keys, lambda item: item.family_id)
        return [sorted(group, key=lambda c: c.opened_at, reverse=True) for group in grouped]


class PlanByCaseDataLoader(DataLoader[str, PlanRead | None]):
    """The active plan of a case (goals, actions, team, reviews inline): `GET cases /v1/plans?case_ids=`."""

    def __init__(self, cases: CasesAPI) -> None:
        self.cases = cases
        super().__init__(load_fn=self._load, max_batch_size=BATCH_MAX)

    async def _load(self, keys: list[str]) -> list[PlanRead | None]:
        return _one_per_key(await self.cases.plans_by_case_ids(keys), keys, lambda item: item.case_id)


class ContactsByCaseDataLoader(DataLoader[str, list[ContactRead]]):
    """Contacts and notes of a case: `GET cases /v1/contacts?case_ids=`."""

    def __init__(self, cases: CasesAPI) -> None:
        self.cases = cases
        super().__init__(load_fn=self._load, max_batch_size=BATCH_MAX)

    async def _load(self, keys: list[str]) -> list[list[ContactRead]]:
        return _many_per_key(await self.cases.contacts_by_case_ids(keys), keys, lambda item: item.case_id)


class LeadWorkerHistoryDataLoader(DataLoader[str, list[LeadWorkerAssignmentRead]]):
    """Lead-worker history per case. The contract offers it per case only, so the calls run in parallel."""

    def __init__(self, cases: CasesAPI) -> None:
        self.cases = cases
        super().__init__(load_fn=self._load, max_batch_size=BATCH_MAX)

    async def _load(self, keys: list[str]) -> list[list[LeadWorkerAssignmentRead]]:
        return list(await asyncio.gather(*(self.cases.lead_worker_history(key) for key in keys)))


class WorkerDataLoader(DataLoader[str, WorkerRead | None]):
    """Workers by id: `GET cases /v1/workers?ids=`."""

    def __init__(self, cases: CasesAPI) -> None:
        self.cases = cases
        super().__init__(load_fn=self._load, max_batch_size=BATCH_MAX)

    async def _load(self, keys: list[str]) -> list[WorkerRead | None]:
        return _one_per_key(await self.cases.workers_by_ids(keys), keys, lambda item: item.id)


class PersonDataLoader(DataLoader[str, PersonRead | None]):
    """People by id: `GET cases /v1/people?ids=`."""

    def __init__(self, cases: CasesAPI) -> None:
        self.cases = cases
        super().__init__(load_fn=self._load, max_batch_size=BATCH_MAX)

    async def _load(self, keys: list[str]) -> list[PersonRead | None]:
        return _one_per_key(await self.cases.people_by_ids(keys), keys, lambda item: item.id)


class ReferralDataLoader(DataLoader[str, ReferralRead | None]):
    """Referrals by id: `GET referrals /v1/referrals?ids=`."""

    def __init__(self, referrals: ReferralsAPI) -> None:
        self.referrals = referrals
        super().__init__(load_fn=self._load, max_batch_size=BATCH_MAX)

    async def _load(self, keys: list[str]) -> list[ReferralRead | None]:
        return _one_per_key(await self.referrals.by_ids(keys), keys, lambda item: item.id)


class ReferralsByFamilyDataLoader(DataLoader[str, list[ReferralRead]]):
    """The referrals that concern a family: `GET referrals /v1/referrals?family_ids=`."""

    def __init__(self, referrals: ReferralsAPI) -> None:
        self.referrals = referrals
        super().__init__(load_fn=self._load, max_batch_size=BATCH_MAX)

    async def _load(self, keys: list[str]) -> list[list[ReferralRead]]:
        return _many_per_key(await self.referrals.by_family_ids(keys), keys, lambda item: item.family_id)


class ProgressByFamilyDataLoader(DataLoader[str, FamilyProgress | None]):
    """A family's progress: `GET outcomes /v1/progress?family_ids=`, one item per family (none for a family
    the outcomes service has not enrolled)."""

    def __init__(self, outcomes: OutcomesAPI) -> None:
        self.outcomes = outcomes
        super().__init__(load_fn=self._load, max_batch_size=BATCH_MAX)

    async def _load(self, keys: list[str]) -> list[FamilyProgress | None]:
        return _one_per_key(await self.outcomes.progress_by_family_ids(keys), keys, lambda item: item.family_id)


class ClaimsByFamilyDataLoader(DataLoader[str, list[ClaimRead]]):
    """Payment-by-results claims of a family: `GET outcomes /v1/claims?family_ids=`."""

    def __init__(self, outcomes: OutcomesAPI) -> None:
        self.outcomes = outcomes
        super().__init__(load_fn=self._load, max_batch_size=BATCH_MAX)

    async def _load(self, keys: list[str]) -> list[list[ClaimRead]]:
        return _many_per_key(await self.outcomes.claims_by_family_ids(keys), keys, lambda item: item.family_id)


class FrameworkDataLoader(DataLoader[tuple[str, str], ActiveFramework]):
    """Framework definitions by (code, version): `GET outcomes /v1/frameworks/{code}?version=`, in parallel."""

    def __init__(self, outcomes: OutcomesAPI) -> None:
        self.outcomes = outcomes
        super().__init__(load_fn=self._load, max_batch_size=BATCH_MAX)

    async def _load(self, keys: list[tuple[str, str]]) -> list[ActiveFramework]:
        return list(await asyncio.gather(*(self.outcomes.framework(code, version) for code, version in keys)))


@dataclass(frozen=True, slots=True)
class DataLoaders:
    """Every loader of one request; built fresh per request so nothing is cached across callers."""

    family: FamilyDataLoader
    families_by_person: FamiliesByPersonDataLoader
    case: CaseDataLoader
    cases_by_family: CasesByFamilyDataLoader
    plan_by_case: PlanByCaseDataLoader
    contacts_by_case: ContactsByCaseDataLoader
    lead_worker_history: LeadWorkerHistoryDataLoader
    worker: WorkerDataLoader
    person: PersonDataLoader
    referral: ReferralDataLoader
    referrals_by_family: ReferralsByFamilyDataLoader
    progress_by_family: ProgressByFamilyDataLoader
    claims_by_family: ClaimsByFamilyDataLoader
    framework: FrameworkDataLoader

    @classmethod
    def for_request(cls, services: Services) -> DataLoaders:
        return cls(
            family=FamilyDataLoader(services.cases),
            families_by_person=FamiliesByPersonDataLoader(services.cases),
            case=CaseDataLoader(services.cases),
            cases_by_family=CasesByFamilyDataLoader(services.cases),
            plan_by_case=PlanByCaseDataLoader(services.cases),
            contacts_by_case=ContactsByCaseDataLoader(services.cases),
            lead_worker_history=LeadWorkerHistoryDataLoader(services.cases),
            worker=WorkerDataLoader(services.cases),
            person=PersonDataLoader(services.cases),
            referral=ReferralDataLoader(services.referrals),
            referrals_by_family=ReferralsByFamilyDataLoader(services.referrals),
            progress_by_family=ProgressByFamilyDataLoader(services.outcomes),
            claims_by_family=ClaimsByFamilyDataLoader(services.outcomes),
            framework=FrameworkDataLoader(services.outcomes),
        )
