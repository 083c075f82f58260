"""What a subject access export holds about other people, and the export as a readable HTML bundle.

A subject has the right to their own data, not to other people's (UK GDPR Article 15(4), DPA 2018 Schedule 2
paragraph 16). The services already leave out other people's person rows; what remains are records about the
whole family (assessments, plans, contact notes, claims), free text written by professionals, and the details of
referrers and workers. `third_party_review` lists each such record with why it needs a look before release; the
HTML bundle shows every record and marks those.
"""

from __future__ import annotations

import html
import json
from typing import Any

FAMILY_LEVEL = "a record about the whole family: other members' information may need redacting"
FREE_TEXT = "free text written by a professional: may mention other people"
PROFESSIONAL = "a professional's name and contact details (third party)"
RELATED = "names another person (relationship)"

CASE_PARTS = {
    "assessments": FAMILY_LEVEL,
    "plans": FAMILY_LEVEL,
    "reviews": FAMILY_LEVEL,
    "contacts": FREE_TEXT,
    "case_steps": FAMILY_LEVEL,
    "lead_worker_assignments": PROFESSIONAL,
    "case_referrals": FAMILY_LEVEL,
}


def _item(service: str, record_type: str, record: dict[str, Any], reason: str) -> dict[str, Any]:
    return {"service": service, "record_type": record_type, "record_id": str(record.get("id", "")), "reason": reason}


def third_party_review(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every exported record that may hold another person's data, with the reason, for review before release."""
    items: list[dict[str, Any]] = []
    for referral in document.get("referrals", {}).get("referrals", []):
        items.append(_item("referrals", "referral", referral, PROFESSIONAL + "; " + FREE_TEXT))
        if any(not p.get("data_subject") for p in referral.get("people", [])):
            items.append(_item("referrals", "referral", referral, "names other people (shown by role only)"))
    cases = document.get("cases", {})
    for relationship in cases.get("relationships", []):
        items.append(_item("cases", "family_relationship", relationship, RELATED))
    for family in cases.get("families", []):
        items.append(_item("cases", "family", family, FAMILY_LEVEL))
    for case in cases.get("cases", []):
        items.append(_item("cases", "case", case, FAMILY_LEVEL))
        for part, reason in CASE_PARTS.items():
            items.extend(_item("cases", part.removesuffix("s"), record, reason) for record in case.get(part, []))
    outcomes = document.get("outcomes", {})
    for enrolment in outcomes.get("enrolments", []):
        items.append(_item("outcomes", "enrolment", enrolment, FAMILY_LEVEL))
    for claim in outcomes.get("claims", []):
        items.append(_item("outcomes", "claim", claim, FAMILY_LEVEL))
    for record in outcomes.get("observations", {}).get("practitioner_assessments", []):
        items.append(_item("outcomes", "practitioner_assessment", record, FREE_TEXT))
    for family in document.get("intelligence", {}).get("identified_families", []):
        items.append(_item("intelligence", "identified_family", family, FAMILY_LEVEL))
    return items


CSS = """body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#0b0c0c}
h1{font-size:1.6rem}h2{border-bottom:2px solid #0b0c0c;margin-top:2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}td,th{border:1px solid #b1b4b6;padding:.25rem .4rem;
text-align:left;vertical-align:top}th{background:#f3f2f1;width:14rem}.review{background:#fff7bf}
.flag{display:inline-block;background:#d4351c;color:#fff;padding:0 .4rem;font-weight:600;font-size:.8rem}"""


def _value(value: Any) -> str:
    if isinstance(value, dict | list):
        return "<pre>" + html.escape(json.dumps(value, indent=1, ensure_ascii=False)) + "</pre>"
    return html.escape("" if value is None else str(value))


def _nested(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _records(title: str, records: list[dict[str, Any]], flagged: dict[str, list[str]], level: int = 3) -> str:
    """Each record as a table, marked when it is for review; lists of records inside it (a case's assessments,
    plans and contacts) follow as their own sections."""
    out = [f"<h{level}>{html.escape(title)} ({len(records)})</h{level}>"]
    for record in records:
        reasons = flagged.get(str(record.get("id", "")), [])
        head = "".join(f'<p><span class="flag">REVIEW</span> {html.escape(r)}</p>' for r in reasons)
        rows = "".join(
            f"<tr><th>{html.escape(str(k))}</th><td>{_value(v)}</td></tr>"
            for k, v in record.items()
            if v is not None and not _nested(v)
        )
        out.append(f'<div class="{"review" if reasons else ""}">{head}<table>{rows}</table>')
        for key, value in record.items():
            if _nested(value):
                out.append(_records(key.replace("_", " "), value, flagged, min(level + 1, 6)))
        out.append("</div>")
    return "".join(out)


def render_html(document: dict[str, Any]) -> str:
    """The export as one self-contained HTML page: each service's records, third-party data marked."""
    flagged: dict[str, list[str]] = {}
    for item in document.get("third_party_review", []):
        flagged.setdefault(item["record_id"], []).append(item["reason"])
    subject = document.get("subject", {})
    parts = [
        "<!DOCTYPE html><html lang='en-GB'><head><meta charset='utf-8'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>Subject access export</title><style>{CSS}</style></head><body>",
        "<h1>Subject access export</h1>",
        f"<p>NHS number {_value(subject.get('nhs_number'))}, UPN {_value(subject.get('upn'))}; requested by "
        f"{_value(subject.get('requested_by'))}; generated {_value(document.get('generated_at'))}.</p>",
        f"<p><b>{len(document.get('third_party_review', []))} records are marked for review</b>: they may hold "
        "other people's information, which must be redacted or withheld before this is released.</p>",
    ]
    for service, body in document.items():
        if service in ("subject", "third_party_review", "generated_at") or not isinstance(body, dict):
            continue
        parts.append(f"<h2>{html.escape(service.capitalize())}</h2>")
        for name, records in body.items():
            if isinstance(records, dict):  # outcomes observations: one list per kind
                for kind, rows in records.items():
                    parts.append(_records(f"{name}: {kind}", rows, flagged))
            elif isinstance(records, list):
                parts.append(_records(name.replace("_", " "), records, flagged))
    parts.append("</body></html>")
    return "\n".join(parts)
