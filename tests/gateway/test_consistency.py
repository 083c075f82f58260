"""The GraphQL words and rules users tripped over, against the four services as real processes: `decision` and
`note` (their old names deprecated, still accepted), `version` required for every change of a case or plan
(`PRECONDITION_REQUIRED` without it, `STALE_VERSION` when old), `idempotencyKey` optional on referral submissions as
in REST, and the `FINANCIAL` observation kind the outcomes service records."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from tests.gateway.conftest import gateway_client, gql
from tests.gateway.test_services import Stack, gateway_urls, stack  # noqa: F401  (the module's own stack)
from tests.referrals.conftest import school_payload
from tests.security.test_gateway_authz import camel
from tests.support import make_token
from tests.support.factories import upn

pytestmark = pytest.mark.e2e

ASHA = make_token("practitioner", sub="gw-asha", agency="LCC", agency_type="council")
ANALYST = make_token("analyst", sub="gw-analyst", agency="LCC", agency_type="council")
SCHOOL = make_token("partner_system", sub="sch-mis", agency="SCH-LS-001", agency_type="school")
ERRORS = "userErrors { field message code }"

SUBMIT = f"""mutation($input: SchoolReferralInput!, $key: String) {{
  submitSchoolReferral(input: $input, idempotencyKey: $key) {{ referral {{ id hub status }} {ERRORS} }} }}"""
DECIDE = f"""mutation($id: ID!, $input: DecisionInput!) {{
  decideReferral(id: $id, input: $input) {{ referral {{ status decision {{ decision outcome }} }} {ERRORS} }} }}"""
CONTACT = f"""mutation($case: ID!, $input: ContactInput!) {{
  addContact(caseId: $case, input: $input) {{ contact {{ note summary }} {ERRORS} }} }}"""
CASELOAD = "{ me { caseload { id version } } }"
CLOSE = f"""mutation($case: ID!, $version: Int) {{
  closeCase(caseId: $case, version: $version, input: {{outcome: NEEDS_MET, reason: "Goals reached"}}) {{
    case {{ status }} {ERRORS} }} }}"""
ASSESS = f"""mutation($case: ID!, $input: AssessmentInput!) {{
  recordAssessment(caseId: $case, input: $input) {{ case {{ id }} {ERRORS} }} }}"""
PLAN = f"""mutation($case: ID!, $input: PlanInput!, $version: Int) {{
  updatePlan(caseId: $case, input: $input, version: $version) {{ plan {{ version }} {ERRORS} }} }}"""
TEAM = f"""mutation($case: ID!, $version: Int) {{
  updateTeam(caseId: $case, version: $version, input: {{team: [], reason: "Agreed at review"}}) {{
    case {{ version }} {ERRORS} }} }}"""
OBSERVE = (
    f"""mutation($rows: [ObservationInput!]!) {{ recordObservations(observations: $rows) {{ report {ERRORS} }} }}"""
)
NEEDS = ("education", "health", "housing")


def payload(body: dict[str, Any], field: str) -> dict[str, Any]:
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"][field]
    return found


def error_codes(value: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in value["userErrors"]]


async def test_submit_referral_key_is_optional_as_in_rest(stack: Stack) -> None:  # noqa: F811
    practitioner = make_token("practitioner", sub="gw-school-nurse", agency="LCC", agency_type="council")
    async with gateway_client(**gateway_urls(stack)) as client:
        body = {"input": camel(school_payload(pupil={**school_payload()["pupil"], "upn": upn(7101)}))}
        submitted = payload(await gql(client, SUBMIT, body, token=practitioner), "submitSchoolReferral")
        assert submitted["userErrors"] == [] and submitted["referral"]["status"] == "RECEIVED"
        # a partner system's token must send one, as in REST; a malformed one is refused before any call
        refused = payload(await gql(client, SUBMIT, body, token=SCHOOL), "submitSchoolReferral")
        assert refused["referral"] is None and error_codes(refused) == [("idempotencyKey", "INVALID")]
        short = payload(await gql(client, SUBMIT, {**body, "key": "abc"}, token=SCHOOL), "submitSchoolReferral")
        assert short["referral"] is None and error_codes(short) == [("idempotencyKey", "INVALID")]


async def test_decide_referral_takes_decision_and_still_the_deprecated_outcome(stack: Stack) -> None:  # noqa: F811
    async with gateway_client(**gateway_urls(stack)) as client:
        ids = []
        for n in (7201, 7202, 7203):
            body = {"input": camel(school_payload(pupil={**school_payload()["pupil"], "upn": upn(n)})), "key": None}
            submitted = payload(
                await gql(client, SUBMIT, {**body, "key": f"decide-{n}"}, token=SCHOOL), "submitSchoolReferral"
            )
            ids.append((submitted["referral"]["id"], submitted["referral"]["hub"]))
        manager = make_token("hub_manager", sub="gw-decider", agency="LCC", agency_type="council", hubs=[ids[0][1]])
        new = {"decision": "SIGNPOSTED", "reason": "Universal services fit"}
        old = {"outcome": "SIGNPOSTED", "reason": "Universal services fit"}
        for (rid, _), given in zip(ids, (new, old), strict=False):
            decided = payload(await gql(client, DECIDE, {"id": rid, "input": given}, token=manager), "decideReferral")
            assert decided["userErrors"] == [], decided
            assert decided["referral"]["status"] == "SIGNPOSTED"
            # read under its name, and under the deprecated old one with the same value (partners do not break)
            assert decided["referral"]["decision"] == {"decision": "SIGNPOSTED", "outcome": "SIGNPOSTED"}
        neither = {"id": ids[2][0], "input": {"reason": "no decision"}}
        missing = payload(await gql(client, DECIDE, neither, token=manager), "decideReferral")
        assert missing["referral"] is None and error_codes(missing) == [("decision", "INVALID")]


async def test_contacts_say_note_and_summary_is_its_deprecated_name(stack: Stack) -> None:  # noqa: F811
    async with gateway_client(**gateway_urls(stack)) as client:
        case_id = payload(await gql(client, CASELOAD, token=ASHA), "me")["caseload"][0]["id"]
        at = datetime.now(UTC).isoformat()
        for given in ({"note": "Home visit; mornings"}, {"summary": "Home visit; mornings"}):
            contact = {"kind": "VISIT", "occurredAt": at, **given}
            added = payload(await gql(client, CONTACT, {"case": case_id, "input": contact}, token=ASHA), "addContact")
            assert added["userErrors"] == [], added
            assert added["contact"] == {"note": "Home visit; mornings", "summary": "Home visit; mornings"}
        bare = {"case": case_id, "input": {"kind": "VISIT", "occurredAt": at}}
        missing = payload(await gql(client, CONTACT, bare, token=ASHA), "addContact")
        assert missing["contact"] is None and error_codes(missing) == [("note", "INVALID")]


async def test_every_change_of_a_case_or_plan_needs_its_version(stack: Stack) -> None:  # noqa: F811
    async with gateway_client(**gateway_urls(stack)) as client:
        first, second = payload(await gql(client, CASELOAD, token=ASHA), "me")["caseload"][-2:]
        # the plan: the first version is a create (no version); after it, none is PRECONDITION_REQUIRED
        assessment = {"needs": [{"code": n, "evidence": "seen at the home visit"} for n in NEEDS]}
        assessment["needs"][0]["descriptors"] = ["persistent_absence"]  # a descriptor by its code
        assessed = payload(await gql(client, ASSESS, {"case": first["id"], "input": assessment}, token=ASHA),
                           "recordAssessment")  # fmt: skip
        assert assessed["userErrors"] == [], assessed
        plan = {"goals": [{"need": n, "description": f"Progress on {n}"} for n in NEEDS]}
        created = payload(await gql(client, PLAN, {"case": first["id"], "input": plan}, token=ASHA), "updatePlan")
        assert created["userErrors"] == [] and created["plan"]["version"] == 1, created
        again = payload(await gql(client, PLAN, {"case": first["id"], "input": plan}, token=ASHA), "updatePlan")
        assert again["plan"] is None and error_codes(again) == [("version", "PRECONDITION_REQUIRED")]
        stale = {"case": first["id"], "input": plan, "version": 0}
        assert error_codes(payload(await gql(client, PLAN, stale, token=ASHA), "updatePlan")) == [
            ("version", "STALE_VERSION")
        ]
        # changing the team around the family changes the case: the same rule, and the case moves on a version
        missing = payload(await gql(client, TEAM, {"case": second["id"]}, token=ASHA), "updateTeam")
        assert missing["case"] is None and error_codes(missing) == [("version", "PRECONDITION_REQUIRED")]
        old = payload(await gql(client, TEAM, {"case": second["id"], "version": 0}, token=ASHA), "updateTeam")
        assert old["case"] is None and error_codes(old) == [("version", "STALE_VERSION")]
        team = payload(await gql(client, TEAM, {"case": second["id"], "version": second["version"]}, token=ASHA),
                       "updateTeam")  # fmt: skip
        assert team["userErrors"] == [] and team["case"]["version"] == second["version"] + 1, team
        # closing a case: the same rule (the version read before the team changed is now stale)
        missing = payload(await gql(client, CLOSE, {"case": second["id"]}, token=ASHA), "closeCase")
        assert missing["case"] is None and error_codes(missing) == [("version", "PRECONDITION_REQUIRED")]
        old = payload(await gql(client, CLOSE, {"case": second["id"], "version": second["version"]}, token=ASHA),
                      "closeCase")  # fmt: skip
        assert old["case"] is None and error_codes(old) == [("version", "STALE_VERSION")]
        version = {"case": second["id"], "version": team["case"]["version"]}
        closed = payload(await gql(client, CLOSE, version, token=ASHA), "closeCase")
        assert closed["userErrors"] == [] and closed["case"]["status"] == "CLOSED", closed


async def test_financial_observations_are_recorded_through_graphql(stack: Stack) -> None:  # noqa: F811
    row = {"kind": "FINANCIAL", "nhsNumber": "9434765919", "status": "debt_plan_kept",
           "periodStart": str(date(2026, 1, 5))}  # fmt: skip
    async with gateway_client(**gateway_urls(stack)) as client:
        body = await gql(client, OBSERVE, {"rows": [row]}, token=ANALYST)
        report = payload(body, "recordObservations")
        assert report["userErrors"] == [], report
        assert report["report"]["rows_total"] == 1 and report["report"]["errors"] == [], report


def test_the_observation_kinds_of_graphql_are_those_outcomes_records() -> None:
    from typing import get_args

    from gateway.types.enums import ObservationKind
    from outcomes.observations.schemas import AttendanceRow, IncidentRow, PractitionerAssessmentRow, StatusRow

    recorded = {k for row in (AttendanceRow, IncidentRow, StatusRow, PractitionerAssessmentRow)
                for k in get_args(row.model_fields["kind"].annotation)}  # fmt: skip
    assert {k.value for k in ObservationKind} == recorded


async def test_descriptors_have_stable_codes_with_the_sentence_as_label(stack: Stack) -> None:  # noqa: F811
    query = """{ frameworks { code needs { code descriptorDetails { code label } descriptors } } }"""
    async with gateway_client(**gateway_urls(stack)) as client:
        frameworks = payload(await gql(client, query, token=ASHA), "frameworks")
    sf = next(f for f in frameworks if f["code"] == "supporting-families-2022")
    education = next(n for n in sf["needs"] if n["code"] == "education")
    assert education["descriptorDetails"][0] == {
        "code": "persistent_absence",
        "label": "Persistent absence (10% or more of sessions missed)",
    }
    assert education["descriptors"] == [d["label"] for d in education["descriptorDetails"]]  # deprecated: labels
