"""Test vectors for every rule kind at its boundaries. Expected values are worked out by hand in each test."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

# --- attendance_threshold (90%, 3 terms, fewer than 3 suspensions) ----------------------------------------

SPRING = ("2025-01-06", "2025-03-28")
SUMMER = ("2025-04-22", "2025-07-18")
AUTUMN = ("2025-09-03", "2025-12-19")
AS_OF = "2026-01-10"


async def _child_family(session: AsyncSession, kit: Any, dob: str = "2015-05-01") -> tuple[Any, str]:
    child = kit.person("child", dob)
    family = await kit.enrol(session, kit.assessment(["education", "crime", "health"], [child]))
    return family, child["person_id"]


async def test_attendance_exactly_ninety_percent_is_met(
    outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    async with outcomes_sessions() as session:
        family, pid = await _child_family(session, kit)
        # 90 + 135 + 45 = 270 attended of 100 + 150 + 50 = 300 possible: exactly 90.0%.
        await kit.load(
            session,
            [
                kit.term(pid, *SPRING, 100, 90),
                kit.term(pid, *SUMMER, 150, 135),
                kit.term(pid, *AUTUMN, 50, 45),
            ],
        )
        result = await kit.result(session, family, "education", AS_OF)
        assert result.met is True
        assert result.rule_kind == "attendance_threshold"
        assert len(result.evidence_ids) == 3


async def test_attendance_one_session_short_of_ninety_percent(
    outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    async with outcomes_sessions() as session:
        family, pid = await _child_family(session, kit)
        # 269 of 300 = 89.67%.
        await kit.load(
            session,
            [
                kit.term(pid, *SPRING, 100, 90),
                kit.term(pid, *SUMMER, 150, 134),
                kit.term(pid, *AUTUMN, 50, 45),
            ],
        )
        result = await kit.result(session, family, "education", AS_OF)
        assert result.met is False
        assert "89.7% is below 90" in result.reason


async def test_attendance_only_the_last_three_terms_count(
    outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    async with outcomes_sessions() as session:
        family, pid = await _child_family(session, kit)
        # A poor autumn 2024 term is older than the last three and is ignored; a term ending after the
        # evaluation date is not yet counted.
        await kit.load(
            session,
            [
                kit.term(pid, "2024-09-04", "2024-12-20", 100, 10),
                kit.term(pid, *SPRING, 100, 95),
                kit.term(pid, *SUMMER, 100, 95),
                kit.term(pid, *AUTUMN, 100, 95),
                kit.term(pid, "2026-01-05", "2026-03-27", 100, 0),
            ],
        )
        result = await kit.result(session, family, "education", AS_OF)
        assert result.met is True, result.reason


async def test_attendance_suspensions_two_met_three_not(
    outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    async with outcomes_sessions() as session:
        family, pid = await _child_family(session, kit)
        await kit.load(
            session,
            [
                kit.term(pid, *SPRING, 100, 95, suspensions=1),
                kit.term(pid, *SUMMER, 100, 95, suspensions=1),
                kit.term(pid, *AUTUMN, 100, 95),
            ],
        )
        assert (await kit.result(session, family, "education", AS_OF)).met is True
        other, pid2 = await _child_family(session, kit)
        await kit.load(
            session,
            [
                kit.term(pid2, *SPRING, 100, 95, suspensions=1),
                kit.term(pid2, *SUMMER, 100, 95, suspensions=1),
                kit.term(pid2, *AUTUMN, 100, 95, suspensions=1),
            ],
        )
        result = await kit.result(session, other, "education", AS_OF)
        assert result.met is False
        assert "3 suspensions" in result.reason


async def test_attendance_gap_term_is_missing_data(
    outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    async with outcomes_sessions() as session:
        family, pid = await _child_family(session, kit)
        # Summer 2025 is missing: autumn 2024, spring 2025, autumn 2025 are the last three with data, but the gap
        # between spring's end (2025-03-28) and autumn's start (2025-09-03) is 159 days, more than a holiday.
        await kit.load(
            session,
            [
                kit.term(pid, "2024-09-04", "2024-12-20", 100, 100),
                kit.term(pid, *SPRING, 100, 100),
                kit.term(pid, *AUTUMN, 100, 100),
            ],
        )
        result = await kit.result(session, family, "education", AS_OF)
        assert result.met is False
        assert "missing data" in result.reason


async def test_attendance_fewer_terms_than_required_is_missing_data(
    outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    async with outcomes_sessions() as session:
        family, pid = await _child_family(session, kit)
        await kit.load(session, [kit.term(pid, *SUMMER, 100, 100), kit.term(pid, *AUTUMN, 100, 100)])
        result = await kit.result(session, family, "education", AS_OF)
        assert (result.met, "missing data" in result.reason) == (False, True)


async def test_attendance_permanent_exclusion_and_every_child(
    outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    async with outcomes_sessions() as session:
        a, b = kit.person("child", "2014-02-01"), kit.person("young_person", "2011-09-09")
        adult_child = kit.person("young_person", "2008-01-01")  # 17 on the evaluation date: not school age
        family = await kit.enrol(session, kit.assessment(["education", "crime", "health"], [a, b, adult_child]))
        await kit.load(
            session,
            [
                *(kit.term(a["person_id"], *t, 100, 100) for t in (SPRING, SUMMER, AUTUMN)),
                kit.term(b["person_id"], *SPRING, 100, 100),
                kit.term(b["person_id"], *SUMMER, 100, 100),
                kit.term(b["person_id"], *AUTUMN, 100, 100, permanently_excluded=True),
            ],
        )
        result = await kit.result(session, family, "education", AS_OF)
        assert result.met is False
        assert "1 of 2 school-age children" in result.reason and "permanently excluded" in result.reason


async def test_attendance_no_school_age_child(outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any) -> None:
    async with outcomes_sessions() as session:
        family, _ = await _child_family(session, kit, dob="2022-01-01")  # aged 4
        result = await kit.result(session, family, "education", AS_OF)
        assert (result.met, result.reason) == (False, "no school-age child in the family")


# --- reduction_vs_baseline (offence 33%, asb 60%, 6 months; start 2025-01-10) ------------------------------
# Baseline window 2024-07-10 … 2025-01-09; outcome window 2025-01-10 … 2025-07-09.


async def _crime_family(session: AsyncSession, kit: Any) -> tuple[Any, str]:
    adult = kit.person("parent_carer", "1985-01-01")
    family = await kit.enrol(session, kit.assessment(["crime", "domestic_abuse", "health"], [adult]))
    return family, adult["person_id"]


def _incident(kind: str, pid: str | None, on: str, ref: str = "", family: Any = None) -> dict[str, Any]:
    row: dict[str, Any] = {"kind": kind, "occurred_on": on, "reference": ref}
    if pid:
        row["person_id"] = pid
    if family:
        row["family_id"] = str(family)
    return row


async def test_reduction_window_edges(outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any) -> None:
    async with outcomes_sessions() as session:
        family, pid = await _crime_family(session, kit)
        # Baseline 3 (2024-07-10 is the first day of the window) → at most floor(3 × 0.67) = 2 after.
        # After: 2025-01-10 (start day) and 2025-07-09 (last day) = 2; 2025-07-10 is outside the window.
        # Were 2024-07-10 left out, 2 would be allowed only 1; were 2025-07-10 counted, 3 > 2.
        await kit.load(
            session,
            [
                _incident("offence", pid, d, d)
                for d in ("2024-07-10", "2024-12-01", "2025-01-09", "2025-01-10", "2025-07-09", "2025-07-10")
            ],
        )
        result = await kit.result(session, family, "crime", "2025-07-10")
        assert result.met is True, result.reason
        assert "offence 3 before, 2 after (at most 2 allowed" in result.reason
        assert len(result.evidence_ids) == 5


async def test_reduction_day_before_baseline_window_is_not_counted(
    outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    async with outcomes_sessions() as session:
        family, pid = await _crime_family(session, kit)
        # 2024-07-09 is outside: baseline 1 → at most floor(0.67) = 0 after; 1 after is not met.
        await kit.load(session, [_incident("offence", pid, d, d) for d in ("2024-07-09", "2024-08-01", "2025-03-01")])
        result = await kit.result(session, family, "crime", "2025-08-01")
        assert result.met is False
        assert "offence 1 before, 1 after (at most 0 allowed" in result.reason


async def test_reduction_zero_baseline_needs_zero_after(
    outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    async with outcomes_sessions() as session:
        family, pid = await _crime_family(session, kit)
        await kit.load(session, [_incident("asb", pid, "2025-02-01")])
        result = await kit.result(session, family, "crime", "2025-08-01")
        assert result.met is False
        assert "asb 0 before, 1 after (at most 0 allowed" in result.reason
        quiet, _ = await _crime_family(session, kit)
        assert (await kit.result(session, quiet, "crime", "2025-08-01")).met is True


async def test_reduction_asb_sixty_percent(outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any) -> None:
    async with outcomes_sessions() as session:
        family, pid = await _crime_family(session, kit)
        # ASB baseline 5 → at most floor(5 × 0.4) = 2 after; 3 after is not met even though offences fell.
        rows = [_incident("asb", pid, f"2024-0{m}-15", f"b{m}") for m in (7, 8, 9)]
        rows += [_incident("asb", pid, f"2024-1{m}-15", f"b{m}") for m in (0, 1)]
        rows += [_incident("asb", pid, f"2025-0{m}-15", f"a{m}") for m in (2, 3, 4)]
        await kit.load(session, rows)
        result = await kit.result(session, family, "crime", "2025-08-01")
        assert result.met is False
        assert "asb 5 before, 3 after (at most 2 allowed" in result.reason


async def test_reduction_window_not_yet_complete(outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any) -> None:
    async with outcomes_sessions() as session:
        family, _ = await _crime_family(session, kit)
        result = await kit.result(session, family, "crime", "2025-07-09")
        assert result.met is False
        assert "end on 2025-07-10" in result.reason
        assert (await kit.result(session, family, "crime", "2025-07-10")).met is True


# --- no_incidents_in_window (domestic abuse, 6 months) ----------------------------------------------------
# Evaluated on 2025-09-15, the window is 2025-03-16 … 2025-09-15.


async def test_no_incidents_window_edges(outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any) -> None:
    async with outcomes_sessions() as session:
        on_edge, pid = await _crime_family(session, kit)
        await kit.load(
            session,
            [
                _incident("domestic_abuse_incident", pid, "2025-03-15"),
                _incident("domestic_abuse_incident", pid, "2025-09-16"),  # after the evaluation date
            ],
        )
        result = await kit.result(session, on_edge, "domestic_abuse", "2025-09-15")
        assert result.met is True, result.reason
        assert result.reason == "no domestic_abuse_incident in the last 6 months"

        inside, _ = await _crime_family(session, kit)
        await kit.load(session, [_incident("domestic_abuse_incident", None, "2025-03-16", family=inside)])
        result = await kit.result(session, inside, "domestic_abuse", "2025-09-15")
        assert result.met is False
        assert result.reason == "1 domestic_abuse_incident in the last 6 months (latest 2025-03-16)"


# --- continuous_status (employment 26 weeks = 182 days) ----------------------------------------------------


async def _work_family(session: AsyncSession, kit: Any) -> tuple[Any, str, str]:
    adult, teen = kit.person("parent_carer", "1985-01-01"), kit.person("young_person", "2009-01-01")
    family = await kit.enrol(session, kit.assessment(["financial_stability", "housing", "health"], [adult, teen]))
    return family, adult["person_id"], teen["person_id"]


def _status(kind: str, pid: str, status: str, start: str, end: str | None = None) -> dict[str, Any]:
    return {"kind": kind, "person_id": pid, "status": status, "period_start": start, "period_end": end}


async def test_continuous_employment_exactly_26_weeks(
    outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    async with outcomes_sessions() as session:
        # 2025-07-03 … 2025-12-31 inclusive: 29 + 31 + 30 + 31 + 30 + 31 = 182 days = 26 weeks.
        family, adult, _ = await _work_family(session, kit)
        await kit.load(session, [_status("employment", adult, "employed", "2025-07-03")])
        met = await kit.result(session, family, "financial_stability", "2025-12-31")
        assert met.met is True
        # Still running on the evaluation date: described by its start, so the stored result holds while it lasts.
        assert met.reason == "continuous employment since 2025-07-03, ongoing at the evaluation date; 26 weeks required"
        # The same 182 days in the past (2025-01-01 … 2025-07-01): described with both ends.
        past, adult3, _ = await _work_family(session, kit)
        await kit.load(session, [_status("employment", adult3, "employed", "2025-01-01", "2025-07-01")])
        ended = await kit.result(session, past, "financial_stability", "2025-12-31")
        assert (ended.met, ended.reason) == (
            True,
            "continuous employment for 26 weeks (2025-01-01 to 2025-07-01); 26 required",
        )
        # A day later start: 181 days.
        short, adult2, _ = await _work_family(session, kit)
        await kit.load(session, [_status("employment", adult2, "employed", "2025-07-04")])
        result = await kit.result(session, short, "financial_stability", "2025-12-31")
        assert result.met is False
        assert "181 days" in result.reason


async def test_continuous_employment_broken_for_one_week(
    outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    async with outcomes_sessions() as session:
        # 2025-03-01 … 06-30 (122 days), a week out of work, 2025-07-08 … 12-31 (177 days): neither is 182.
        family, adult, _ = await _work_family(session, kit)
        await kit.load(
            session,
            [
                _status("employment", adult, "employed", "2025-03-01", "2025-06-30"),
                _status("employment", adult, "self_employed", "2025-07-08"),
            ],
        )
        result = await kit.result(session, family, "financial_stability", "2025-12-31")
        assert result.met is False
        assert "177 days" in result.reason
        # The same jobs back to back (the second starting the next day) are one spell of 306 days.
        joined, adult2, _ = await _work_family(session, kit)
        await kit.load(
            session,
            [
                _status("employment", adult2, "employed", "2025-03-01", "2025-06-30"),
                _status("employment", adult2, "self_employed", "2025-07-01"),
            ],
        )
        assert (await kit.result(session, joined, "financial_stability", "2025-12-31")).met is True


async def test_continuous_status_counts_only_the_right_people_and_statuses(
    outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    async with outcomes_sessions() as session:
        family, adult, teen = await _work_family(session, kit)
        await kit.load(
            session,
            [
                _status("employment", teen, "employed", "2024-01-01"),  # a young person, not an adult
                _status("employment", adult, "unemployed", "2024-01-01"),  # not an allowed status
                _status("housing", adult, "secure", "2025-01-01", "2025-06-30"),  # 181 days
            ],
        )
        assert (await kit.result(session, family, "financial_stability", "2025-12-31")).met is False
        housing = await kit.result(session, family, "housing", "2025-12-31")
        assert housing.met is False and "181 days" in housing.reason


# --- practitioner_assessed ---------------------------------------------------------------------------------


def _judgement(family: Any, need: str, met: bool, on: str, evidence: str = "") -> dict[str, Any]:
    return {
        "kind": "practitioner_assessment",
        "family_id": str(family),
        "need": need,
        "met": met,
        "assessed_on": on,
        "evidence": evidence,
    }


async def test_practitioner_assessed(outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any) -> None:
    async with outcomes_sessions() as session:
        family, _ = await _crime_family(session, kit)
        await kit.load(session, [_judgement(family, "health", True, "2025-01-09", "before the start")])
        result = await kit.result(session, family, "health", "2025-12-31")
        assert (result.met, result.reason) == (False, "no practitioner judgement recorded since the start")
        await kit.load(session, [_judgement(family, "health", True, "2025-05-01", "")])
        result = await kit.result(session, family, "health", "2025-12-31")
        assert result.met is False and "without the required evidence" in result.reason
        await kit.load(session, [_judgement(family, "health", True, "2025-06-01", "GP letter: engaging well")])
        assert (await kit.result(session, family, "health", "2025-12-31")).met is True
        await kit.load(session, [_judgement(family, "health", False, "2025-07-01", "relapse")])
        result = await kit.result(session, family, "health", "2025-12-31")
        assert (result.met, result.reason) == (False, "practitioner judged not met on 2025-07-01")


# --- sustainment (supporting-families-2022: 6 months after closure) ---------------------------------------


async def test_sustained_six_months_after_closure(
    outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    from outcomes.enrolment.endpoints import close_family_case

    async with outcomes_sessions() as session:
        family, _ = await _crime_family(session, kit)
        result = await kit.result(session, family, "crime", "2025-12-30")
        assert (result.met, result.sustained) == (True, False)  # not closed: nothing to sustain yet
        enrolment = await kit.evaluation(session).enrolment(family)
        assert enrolment is not None
        await close_family_case(
            session,
            kit.SETTINGS,
            {
                "case_id": str(enrolment.case_id),
                "family_id": str(family),
                "closed_on": "2025-06-30",
                "outcome": "needs_met",
            },
            actor="test",
        )
        # Closed 2025-06-30: sustained from 2025-12-30, not the day before.
        assert (await kit.result(session, family, "crime", "2025-12-29")).sustained is False
        assert (await kit.result(session, family, "crime", "2025-12-30")).sustained is True


# --- the employment route (a framework that allows it; start = assessed_on 2025-01-10) ---------------------


async def _route_family(session: AsyncSession, kit: Any) -> tuple[Any, str]:
    """A family on a council's framework that allows the employment route, with three needs."""
    from outcomes.frameworks.repository import FrameworksRepository
    from outcomes.frameworks.schemas import EmploymentRoute
    from outcomes.frameworks.service import FrameworksService, builtin_frameworks

    frameworks = FrameworksService(FrameworksRepository(session), settings=kit.SETTINGS)
    if await frameworks.repo.framework("route-test", "1") is None:
        base = next(f for f in builtin_frameworks() if f.code == "supporting-families-2022")
        routed = base.model_copy(update={"code": "route-test", "employment_route": EmploymentRoute()})
        await frameworks.load(routed.model_dump(mode="json"), kit.ANALYST)
    adult, child = kit.person("parent_carer", "1985-01-01"), kit.person("child", "2016-01-01")
    # The 2022 framework asks for dependent children: a family of one adult is not eligible (issue 22).
    family = await kit.enrol(
        session, kit.assessment(["crime", "housing", "health"], [adult, child], framework="route-test")
    )
    return family, adult["person_id"]


async def test_employment_route_is_a_move_into_work_held_26_weeks(
    outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    from outcomes.frameworks.schemas import EMPLOYMENT_ROUTE

    async with outcomes_sessions() as session:
        # Employed from the start date: 2025-01-10 … 2025-07-10 inclusive is 22 + 28 + 31 + 30 + 31 + 30 + 10 = 182
        # days = 26 weeks.
        family, adult = await _route_family(session, kit)
        await kit.load(session, [_status("employment", adult, "employed", "2025-01-10")])
        assert (await kit.result(session, family, EMPLOYMENT_ROUTE, "2025-07-09")).met is False  # 181 days
        met = await kit.result(session, family, EMPLOYMENT_ROUTE, "2025-07-10")
        assert (met.met, met.sustained, met.reason) == (
            True,
            None,
            "continuous employment since 2025-01-10, ongoing at the evaluation date; 26 weeks required",
        )
        # In work since before the start, without a break: not a move into work.
        before, adult2 = await _route_family(session, kit)
        await kit.load(session, [_status("employment", adult2, "employed", "2024-06-01")])
        held = await kit.result(session, before, EMPLOYMENT_ROUTE, "2025-12-31")
        assert (held.met, held.reason) == (
            False,
            "no employment period with status employed, self_employed begun on or after the start",
        )


async def test_the_employment_route_makes_a_family_claimable_where_the_framework_allows_it(
    outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    async with outcomes_sessions() as session:
        routed, adult = await _route_family(session, kit)
        plain, adult2, _ = await _work_family(session, kit)  # the built-in framework: no route
        await kit.load(
            session,
            [
                _status("employment", adult, "employed", "2025-02-01"),
                _status("employment", adult2, "employed", "2025-02-01"),
            ],
        )
        for family in (routed, plain):
            await kit.evaluation(session, kit.SETTINGS).evaluate(family_id=family, as_of=None, actor="test")
        by_family = {
            p.family_id: p
            for p in await kit.progress(session).progress(kit.ANALYST, [routed, plain], with_evidence=False)
        }
        # crime is met (no offences either side of the start); housing and health are not
        assert {n.need: n.met for n in by_family[routed].needs} == {"crime": True, "housing": False, "health": False}
        route = by_family[routed].employment_route
        assert route is not None and route.met is True
        assert by_family[routed].claimable is True
        # The same work on a framework without the route: financial_stability is met, but not the other needs.
        assert by_family[plain].employment_route is None
        assert by_family[plain].claimable is False
        claim = await kit.claims(session).create(family_id=routed, as_of=None, principal=kit.ANALYST)
        assert claim.evidence["employment_route"]["met"] is True
        assert claim.evidence["employment_route"]["reason"].startswith("continuous employment since 2025-02-01")
