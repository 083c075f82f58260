"""The authorisation matrix: every caller × every REST operation of the three services → the expected outcome.

Cells:
* `ok`     — the role is let through (any answer but 401/403; never a 5xx);
* `404`    — the role is let through but only to its own objects (its agency's, its hub's, its caseload's):
             another owner's object answers 404, so ids are not disclosed;
* `403`    — the role is refused;
* `401`    — no (valid) bearer token;
* `sig`    — the endpoint takes no bearer token at all: only a Standard Webhooks signature with the event
             secret (401 for every caller below, whatever their token);
* `public` — health checks, open to anyone.

The matrix callers are outsiders to the objects in the path: a partner system of another agency, a
practitioner who is neither lead worker nor in the team around the family, a hub manager of another hub.
`python -m tests.security.matrix` prints the table as it appears in docs/security.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CALLERS = ("none", "partner_system", "practitioner", "hub_manager", "analyst", "auditor", "admin")
HEADER = ("none", "partner", "practitioner", "hub mgr", "analyst", "auditor", "admin")

Op = tuple[str, str, str]  # service, METHOD, path (as in the app's OpenAPI)


def row(cells: str) -> dict[str, str]:
    values = cells.split()
    assert len(values) == len(CALLERS), cells
    return dict(zip(CALLERS, values, strict=True))


PUBLIC = row("public public public public public public public")
SIGNED = row("sig sig sig sig sig sig sig")
ADMIN_ONLY = row("401 403 403 403 403 403 ok")
STAFF_LIST = row("401 403 ok ok 403 403 403")
STAFF_OBJECT = row("401 403 404 404 403 403 403")
MANAGER_ONLY = row("401 403 403 ok 403 403 403")
FRAMEWORK_READ = row("401 403 ok ok ok ok ok")
ANALYST = row("401 403 403 403 ok 403 ok")
AUDITOR = row("401 403 403 403 403 ok ok")
RIGHTS_MANAGER = row("401 403 403 ok 403 403 ok")
"""Legal holds and consent flags: the hub's managers and admins (an admin here, unlike in case records)."""
UNKNOWN = "00000000-0000-4000-8000-00000000c0de"
"""The matrix changes no one's rights: holds, erasure, rectification and consent withdrawal name an unknown id, so
`ok` means the caller passed the role check (the answer is then a 404)."""


def _platform(service: str) -> dict[Op, dict[str, str]]:
    return {
        (service, "GET", "/healthz"): PUBLIC,
        (service, "GET", "/readyz"): PUBLIC,
        (service, "GET", "/privacy"): PUBLIC,
        (service, "POST", "/v1/events"): SIGNED,
        (service, "GET", "/v1/admin/outbox"): ADMIN_ONLY,
        (service, "POST", "/v1/admin/outbox/replay"): ADMIN_ONLY,
        (service, "GET", "/v1/admin/subject-access"): ADMIN_ONLY,
    }


MATRIX: dict[Op, dict[str, str]] = {
    **_platform("referrals"),
    ("referrals", "POST", "/v1/referrals/maternity"): row("401 ok ok 403 403 403 ok"),
    ("referrals", "POST", "/v1/referrals/school"): row("401 403 ok 403 403 403 ok"),  # the partner is maternity
    ("referrals", "POST", "/v1/referrals/partner"): row("401 403 ok 403 403 403 ok"),  # the partner is maternity
    ("referrals", "GET", "/v1/referrals"): row("401 ok ok ok 403 403 ok"),
    ("referrals", "GET", "/v1/reports/triage"): row("401 403 403 ok ok 403 ok"),
    ("referrals", "GET", "/v1/referrals/{referral_id}"): row("401 404 404 404 403 403 ok"),
    ("referrals", "POST", "/v1/referrals/{referral_id}/screening"): row("401 403 403 404 403 403 ok"),
    ("referrals", "POST", "/v1/referrals/{referral_id}/decision"): row("401 403 403 404 403 403 ok"),
    ("referrals", "POST", "/v1/referrals/{referral_id}/withdraw"): row("401 404 404 403 403 403 ok"),
    ("referrals", "PUT", "/v1/referrals/{referral_id}/consent"): row("401 403 403 404 403 403 ok"),
    ("referrals", "PUT", "/v1/referrals/{referral_id}/people/{ref}/identity"): row("401 403 403 404 403 403 ok"),
    ("referrals", "GET", "/v1/identity-reviews"): row("401 403 403 ok 403 403 ok"),
    ("referrals", "POST", "/fhir"): row("401 ok ok 403 403 403 ok"),
    ("referrals", "POST", "/fhir/$process-message"): row("401 ok ok 403 403 403 ok"),
    ("referrals", "GET", "/fhir/ServiceRequest/{referral_id}"): row("401 404 404 404 403 403 ok"),
    ("referrals", "GET", "/fhir/Task"): row("401 ok ok ok 403 403 ok"),
    ("referrals", "GET", "/fhir/metadata"): PUBLIC,
    ("referrals", "GET", "/v1/webhooks"): row("401 ok 403 403 403 403 ok"),
    ("referrals", "POST", "/v1/webhooks"): row("401 ok 403 403 403 403 403"),
    ("referrals", "DELETE", "/v1/webhooks/{webhook_id}"): row("401 404 403 403 403 403 ok"),
    ("referrals", "GET", "/v1/webhooks/{webhook_id}/deliveries"): row("401 404 403 403 403 403 ok"),
    **_platform("cases"),
    ("cases", "POST", "/v1/people/match"): row("401 403 403 ok 403 403 ok"),  # triage only (finding F1)
    ("cases", "POST", "/v1/people/known"): row("401 403 403 403 403 403 403"),
    ("cases", "POST", "/v1/people/match/batch"): row("401 403 403 ok 403 403 ok"),  # as the single match
    ("cases", "GET", "/v1/people"): STAFF_LIST,
    ("cases", "POST", "/v1/people"): MANAGER_ONLY,
    ("cases", "POST", "/v1/people/{person_id}/merge"): MANAGER_ONLY,
    ("cases", "POST", "/v1/people/merges/{merge_id}/undo"): MANAGER_ONLY,
    ("cases", "GET", "/v1/people/{person_id}/merges"): MANAGER_ONLY,
    ("cases", "GET", "/v1/hubs"): row("401 403 ok ok 403 403 ok"),  # admins check a hub mapping against them
    ("cases", "PUT", "/v1/hubs/{code}"): ADMIN_ONLY,
    ("cases", "GET", "/v1/workers"): STAFF_LIST,
    ("cases", "GET", "/v1/workers/me"): STAFF_LIST,
    ("cases", "POST", "/v1/workers"): row("401 403 403 403 403 403 ok"),
    ("cases", "GET", "/v1/workers/{worker_id}/caseload"): row("401 403 403 403 403 403 403"),
    ("cases", "GET", "/v1/families"): STAFF_LIST,
    ("cases", "POST", "/v1/families"): row("401 403 403 403 403 403 403"),
    ("cases", "GET", "/v1/families/{family_id}"): STAFF_OBJECT,
    ("cases", "POST", "/v1/families/{family_id}/members"): STAFF_OBJECT,
    ("cases", "POST", "/v1/families/{family_id}/members/{member_id}/leave"): STAFF_OBJECT,
    ("cases", "POST", "/v1/families/{family_id}/relationships"): STAFF_OBJECT,
    ("cases", "POST", "/v1/families/{family_id}/merge"): row("401 403 403 404 403 403 403"),
    ("cases", "POST", "/v1/families/merges/{merge_id}/undo"): MANAGER_ONLY,
    ("cases", "GET", "/v1/families/{family_id}/merges"): row("401 403 403 404 403 403 403"),
    ("cases", "GET", "/v1/cases"): STAFF_LIST,
    ("cases", "POST", "/v1/cases"): row("401 403 403 404 403 403 403"),  # another hub's family: 404 (F5)
    ("cases", "GET", "/v1/cases/{case_id}"): STAFF_OBJECT,
    ("cases", "POST", "/v1/cases/{case_id}/lead-worker"): STAFF_OBJECT,
    ("cases", "GET", "/v1/cases/{case_id}/lead-worker/history"): STAFF_OBJECT,
    ("cases", "POST", "/v1/cases/{case_id}/assessment"): STAFF_OBJECT,
    ("cases", "GET", "/v1/cases/{case_id}/plan"): STAFF_OBJECT,
    ("cases", "PUT", "/v1/cases/{case_id}/plan"): STAFF_OBJECT,
    ("cases", "GET", "/v1/cases/{case_id}/team"): STAFF_OBJECT,
    ("cases", "PUT", "/v1/cases/{case_id}/team"): STAFF_OBJECT,
    ("cases", "GET", "/v1/plans"): STAFF_LIST,
    ("cases", "POST", "/v1/cases/{case_id}/reviews"): STAFF_OBJECT,
    ("cases", "POST", "/v1/cases/{case_id}/contacts"): STAFF_OBJECT,
    ("cases", "GET", "/v1/cases/{case_id}/contacts"): STAFF_OBJECT,  # finding F3: 404, like every /v1/cases/{id}/…
    ("cases", "GET", "/v1/contacts"): STAFF_LIST,
    ("cases", "POST", "/v1/cases/{case_id}/close"): STAFF_OBJECT,
    **_platform("outcomes"),
    ("outcomes", "GET", "/v1/frameworks"): FRAMEWORK_READ,
    ("outcomes", "POST", "/v1/frameworks"): ADMIN_ONLY,
    ("outcomes", "GET", "/v1/frameworks/active"): FRAMEWORK_READ,
    ("outcomes", "PUT", "/v1/frameworks/active"): ADMIN_ONLY,
    ("outcomes", "GET", "/v1/frameworks/active/changes"): FRAMEWORK_READ,
    ("outcomes", "GET", "/v1/programme"): FRAMEWORK_READ,
    ("outcomes", "PUT", "/v1/programme/phases/{code}"): ADMIN_ONLY,
    ("outcomes", "GET", "/v1/frameworks/{code}"): FRAMEWORK_READ,
    ("outcomes", "POST", "/v1/observations"): ANALYST,
    ("outcomes", "POST", "/v1/observations/import"): ANALYST,
    ("outcomes", "POST", "/v1/evaluations"): ANALYST,
    ("outcomes", "GET", "/v1/families/{family_id}/progress"): row("401 403 404 404 ok ok ok"),  # F5
    ("outcomes", "GET", "/v1/progress"): FRAMEWORK_READ,
    ("outcomes", "POST", "/v1/families/{family_id}/judgements"): row("401 403 404 403 ok 403 ok"),
    ("outcomes", "POST", "/v1/claims"): ANALYST,
    ("outcomes", "GET", "/v1/claims"): row("401 403 403 403 ok ok ok"),
    ("outcomes", "GET", "/v1/claims/export"): AUDITOR,
    ("outcomes", "POST", "/v1/claims/audit-sample"): AUDITOR,
    ("outcomes", "GET", "/v1/claims/{claim_id}"): AUDITOR,
    ("outcomes", "POST", "/v1/claims/{claim_id}/decision"): AUDITOR,
    ("outcomes", "GET", "/v1/reports/cohort"): ANALYST,
    # data protection (issue 23): retention runs, legal holds, erasure and rectification, consent withdrawal
    ("referrals", "POST", "/v1/admin/retention/run"): ADMIN_ONLY,
    ("referrals", "GET", "/v1/admin/hub-mapping"): ADMIN_ONLY,
    ("referrals", "PUT", "/v1/admin/hub-mapping"): ADMIN_ONLY,
    ("cases", "POST", "/v1/admin/retention/run"): ADMIN_ONLY,
    ("outcomes", "POST", "/v1/admin/retention/run"): ADMIN_ONLY,
    ("referrals", "POST", "/v1/referrals/{referral_id}/consent-withdrawal"): row("401 ok 403 ok 403 403 ok"),
    ("cases", "POST", "/v1/families/{family_id}/legal-holds"): RIGHTS_MANAGER,
    ("cases", "GET", "/v1/families/{family_id}/legal-holds"): RIGHTS_MANAGER,
    ("cases", "POST", "/v1/families/{family_id}/legal-holds/{hold_id}/release"): RIGHTS_MANAGER,
    ("cases", "GET", "/v1/cases/{case_id}/consent-withdrawals"): RIGHTS_MANAGER,
    ("cases", "POST", "/v1/people/{person_id}/erasure"): ADMIN_ONLY,
    ("cases", "POST", "/v1/people/{person_id}/rectification"): ADMIN_ONLY,
    ("cases", "GET", "/v1/people/{person_id}/rectifications"): ADMIN_ONLY,
}

NOTES: dict[Op, str] = {
    ("cases", "POST", "/v1/people/known"): "the intelligence service's own principal only (`service:intelligence`)",
    ("cases", "GET", "/v1/workers/{worker_id}/caseload"): "the worker themself and their hub's managers",
    ("cases", "POST", "/v1/workers"): "the hub's own managers, or an admin",
    ("cases", "GET", "/v1/workers/me"): "the caller's own record; 404 when they have none",
    ("cases", "POST", "/v1/families"): "the hub's own managers",
    ("cases", "POST", "/v1/cases"): "the family's hub managers; another hub's family is 404",
    ("referrals", "POST", "/v1/webhooks"): "a partner system with an agency claim",
    ("referrals", "POST", "/v1/referrals/partner"): "police, health, housing, probation and vcs systems",
    ("referrals", "PUT", "/v1/admin/hub-mapping"): "audited; the matrix loads the mapping in force again",
    ("referrals", "GET", "/fhir/Task"): "an empty searchset for a referral you cannot see",
    ("outcomes", "GET", "/v1/families/{family_id}/progress"): (
        "practitioners and managers: their hubs; another hub's enrolled family is 404"
    ),
    ("outcomes", "POST", "/v1/families/{family_id}/judgements"): (
        "a practitioner only as the family's lead worker (403); a family they cannot see is 404"
    ),
}


def _person(given: str) -> dict[str, Any]:
    return {"given_name": given, "family_name": "Matrix", "date_of_birth": "2015-01-01"}


def hubs_of(districts: Mapping[str, str]) -> dict[str, list[str]]:
    """{hub: [district, ...]} of a {district: hub} mapping."""
    hubs: dict[str, list[str]] = {}
    for district, hub in districts.items():
        hubs.setdefault(hub, []).append(district)
    return hubs


def request_for(op: Op, ids: Mapping[str, str]) -> dict[str, Any]:
    """A well-formed request for `op` (path ids filled from the world), so that checks made after validation run."""
    from referrals.triage.hubs import district_to_hub
    from tests.cases.conftest import ASSESSMENT, family_body, plan_body
    from tests.referrals.conftest import consent, maternity_payload, partner_payload, school_payload

    service, method, path = op
    if method == "POST" and path.endswith(("/legal-holds", "/release", "/erasure", "/rectification", "-withdrawal")):
        ids = {**ids, "family_id": UNKNOWN, "person_id": UNKNOWN, "referral_id": UNKNOWN}
    url = path.format(**{"hold_id": UNKNOWN, **ids})
    params: dict[str, str] = {}
    headers: dict[str, str] = {}
    body: Any = None
    content: bytes | None = None
    if path in ("/v1/people", "/v1/workers") and method == "GET":
        params = {"ids": ids["person_id"] if path == "/v1/people" else ids["worker_id"]}
    elif path in ("/v1/plans", "/v1/contacts"):
        params = {"case_ids": ids["case_id"]}
    elif path == "/v1/cases" and method == "GET":
        params = {"ids": ids["case_id"]}
    elif path == "/fhir/Task":
        params = {"focus": f"ServiceRequest/{ids['referral_id']}"}
    elif path == "/v1/admin/subject-access":
        params = {"nhs_number": "9434765919"}
    elif path == "/v1/progress":
        params = {"family_ids": ids["family_id"]}
    elif path == "/v1/claims/export":
        params = {"period": "2026"}
    elif path == "/v1/observations/import":
        params = {"kind": "offence"}
        headers = {"content-type": "text/csv"}
        content = b"person_id,occurred_on\n"
    bodies: dict[tuple[str, str], Any] = {
        ("POST", "/v1/referrals/maternity"): maternity_payload(),
        ("POST", "/v1/referrals/school"): school_payload(),
        ("POST", "/v1/referrals/partner"): partner_payload(),
        ("PUT", "/v1/admin/hub-mapping"): {"hubs": hubs_of(district_to_hub())},
        ("POST", "/v1/referrals/{referral_id}/screening"): {"note": "screening"},
        ("POST", "/v1/referrals/{referral_id}/decision"): {"outcome": "signposted", "reason": "matrix"},
        ("POST", "/v1/referrals/{referral_id}/withdraw"): {"reason": "matrix"},
        ("PUT", "/v1/referrals/{referral_id}/consent"): consent(),
        ("POST", "/v1/webhooks"): {"url": "https://partner.example/other"},
        ("POST", "/v1/admin/outbox/replay"): {"delivery_ids": [0]},
        ("POST", "/v1/people/match"): _person("Tom"),
        ("POST", "/v1/people/match/batch"): {"people": [_person("Tom")]},
        ("POST", "/v1/people"): _person("Ann"),
        ("POST", "/v1/people/known"): {"people": [{"ref": "matrix", **_person("Tom")}]},
        ("POST", "/v1/people/{person_id}/merge"): {"merge_person_id": ids["merge_id"], "reason": "matrix"},
        ("POST", "/v1/people/merges/{merge_id}/undo"): {"reason": "matrix"},
        ("PUT", "/v1/referrals/{referral_id}/people/{ref}/identity"): {"person_id": None, "reason": "matrix"},
        ("POST", "/v1/families/{family_id}/merge"): {"merge_family_id": ids["merge_id"], "reason": "matrix"},
        ("POST", "/v1/families/merges/{merge_id}/undo"): {"reason": "matrix"},
        ("PUT", "/v1/hubs/{code}"): {"name": "Matrix hub"},
        ("POST", "/v1/workers"): {"name": "W", "agency": "LCC", "agency_type": "council", "hub": "north"},
        ("POST", "/v1/families"): family_body(family_name="Matrix"),
        ("POST", "/v1/families/{family_id}/members"): {"role": "child", "person": _person("Ben")},
        ("POST", "/v1/families/{family_id}/members/{member_id}/leave"): {"reason": "matrix"},
        ("POST", "/v1/families/{family_id}/relationships"): {
            "person_id": ids["person_id"],
            "related_person_id": ids["other_person_id"],
            "kind": "parent",
        },
        ("POST", "/v1/cases"): {"family_id": ids["family_id"], "reason": "matrix"},
        ("POST", "/v1/cases/{case_id}/lead-worker"): {"worker_id": ids["worker_id"], "reason": "matrix"},
        ("POST", "/v1/cases/{case_id}/assessment"): ASSESSMENT,
        ("PUT", "/v1/cases/{case_id}/plan"): plan_body(),
        ("PUT", "/v1/cases/{case_id}/team"): {"team": [], "reason": "matrix"},
        ("POST", "/v1/cases/{case_id}/reviews"): {"summary": "matrix"},
        ("POST", "/v1/cases/{case_id}/contacts"): {
            "kind": "visit",
            "occurred_at": "2026-01-05T10:00:00Z",
            "note": "matrix",
        },
        ("POST", "/v1/cases/{case_id}/close"): {"outcome": "needs_met", "reason": "matrix"},
        ("POST", "/v1/frameworks"): {},
        ("PUT", "/v1/frameworks/active"): {},
        ("PUT", "/v1/programme/phases/{code}"): {},
        ("POST", "/v1/families/{family_id}/judgements"): {"need": "health", "met": True, "evidence": "matrix"},
        ("POST", "/v1/observations"): {"observations": []},
        ("POST", "/v1/evaluations"): {"family_id": ids["family_id"]},
        ("POST", "/v1/claims"): {"family_id": ids["family_id"]},
        ("POST", "/v1/claims/audit-sample"): {"period": "2026", "seed": 1},
        ("POST", "/v1/claims/{claim_id}/decision"): {"decision": "validated"},
        ("POST", "/v1/events"): {"specversion": "1.0", "id": "x", "source": "s", "type": "t"},
        ("POST", "/v1/admin/retention/run"): {"dry_run": True},
        ("POST", "/v1/referrals/{referral_id}/consent-withdrawal"): {"withdrawn_by": "mother", "method": "verbal"},
        ("POST", "/v1/families/{family_id}/legal-holds"): {"reason": "matrix"},
        ("POST", "/v1/families/{family_id}/legal-holds/{hold_id}/release"): {"reason": "matrix"},
        ("POST", "/v1/people/{person_id}/erasure"): {"reason": "matrix"},
        ("POST", "/v1/people/{person_id}/rectification"): {"changes": {"family_name": "Matrix"}, "reason": "matrix"},
    }
    if (method, path) in bodies:
        body = bodies[(method, path)]
    request: dict[str, Any] = {"method": method, "url": url, "params": params, "headers": headers}
    if content is not None:
        request["content"] = content
    elif body is not None:
        request["json"] = body
    if service == "referrals" and path.startswith("/v1/referrals/") and method == "POST" and "{" not in path:
        request["headers"] = {**headers, "Idempotency-Key": f"matrix-{path.rsplit('/', 1)[-1]}"}
    return request


def render_markdown() -> str:
    """The matrix as the Markdown table of docs/security.md."""
    lines = [
        "| service | operation | " + " | ".join(HEADER) + " |",
        "|---|---|" + "---|" * len(HEADER),
    ]
    for (service, method, path), cells in MATRIX.items():
        note = NOTES.get((service, method, path))
        op = f"`{method} {path}`" + (f" ({note})" if note else "")
        lines.append(f"| {service} | {op} | " + " | ".join(cells[c] for c in CALLERS) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
