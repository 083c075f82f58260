"""The object-level authorisation matrix: who may see or change one object, by their relation to it.

The objects are those of the security world (tests/security/conftest.py): a north-hub family referred by a
maternity partner (agency MAT-LTH), its open case led by a practitioner with another practitioner in the team
around the family, an assessment, a plan, and the family enrolled in outcomes.

Cells:
* `yes`    — let through to the object (a read answers it, a change is applied or meets a business rule, e.g.
             409 for a merge of a person already merged; never 401/403/404, never a 5xx);
* `no`     — refused, 403: the role may not do this at all, or may see the object but not change it;
* `hidden` — the same answer as for an unknown id: 404, or left out of a batch lookup.

`python -m tests.security.object_matrix` prints the table as it appears in docs/security.md, and
`tests/security/test_object_matrix.py` drives every cell through the REST API.
"""

from __future__ import annotations

RELATIONS = ("lead", "team", "manager", "other_manager", "practitioner", "submitter", "analyst", "admin")
HEADER = (
    "lead worker",
    "team member",
    "hub manager (family's hub)",
    "other hub's manager",
    "other practitioner",
    "submitting agency",
    "analyst",
    "admin",
)

Row = tuple[str, str]  # object, what is done to it


def cells(values: str) -> dict[str, str]:
    split = values.split()
    assert len(split) == len(RELATIONS), values
    return dict(zip(RELATIONS, split, strict=True))


# (object, action) → the REST operation that does it; the request itself is built in the test
OPERATIONS: dict[Row, str] = {
    ("family", "see"): "cases GET /v1/families/{family_id}",
    ("family", "change members"): "cases POST /v1/families/{family_id}/members",
    ("person", "see"): "cases GET /v1/people?ids={person_id}",
    ("person", "merge a duplicate into"): "cases POST /v1/people/{person_id}/merge",
    ("case and its assessment", "see"): "cases GET /v1/cases/{case_id}",
    ("assessment", "record"): "cases POST /v1/cases/{case_id}/assessment",
    ("plan", "see"): "cases GET /v1/cases/{case_id}/plan",
    ("plan", "write"): "cases PUT /v1/cases/{case_id}/plan",
    ("team around the family", "see"): "cases GET /v1/cases/{case_id}/team",
    ("team around the family", "change"): "cases PUT /v1/cases/{case_id}/team",
    ("contact", "add"): "cases POST /v1/cases/{case_id}/contacts",
    ("progress", "see"): "outcomes GET /v1/families/{family_id}/progress",
}

OBJECT_MATRIX: dict[Row, dict[str, str]] = {
    ("family", "see"): cells("yes yes yes hidden hidden no no no"),
    ("family", "change members"): cells("yes no yes hidden hidden no no no"),
    ("person", "see"): cells("yes yes yes hidden hidden no no no"),
    ("person", "merge a duplicate into"): cells("no no yes hidden no no no no"),
    ("case and its assessment", "see"): cells("yes yes yes hidden hidden no no no"),
    ("assessment", "record"): cells("yes no yes hidden hidden no no no"),
    ("plan", "see"): cells("yes yes yes hidden hidden no no no"),
    ("plan", "write"): cells("yes no yes hidden hidden no no no"),
    ("team around the family", "see"): cells("yes yes yes hidden hidden no no no"),
    ("team around the family", "change"): cells("yes no yes hidden hidden no no no"),
    ("contact", "add"): cells("yes yes yes hidden hidden no no no"),
    ("progress", "see"): cells("yes yes yes hidden hidden no yes yes"),
}


def render_markdown() -> str:
    """The object matrix as the Markdown table of docs/security.md."""
    lines = [
        "| object | action | operation | " + " | ".join(HEADER) + " |",
        "|---|---|---|" + "---|" * len(HEADER),
    ]
    for (obj, action), row in OBJECT_MATRIX.items():
        lines.append(
            f"| {obj} | {action} | `{OPERATIONS[(obj, action)]}` | " + " | ".join(row[r] for r in RELATIONS) + " |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
