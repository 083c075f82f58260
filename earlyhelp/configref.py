"""Generate the operators' configuration reference from the settings classes themselves.

    python -m earlyhelp.configref > docs/guides/configuration.md     # regenerate
    python -m earlyhelp.configref --check docs/guides/configuration.md  # exit 1 when out of date

Every setting of every part is listed with its environment variable, type, default and description. A
description comes from the field's `description=`, else the attribute docstring under it in the class, else the
notes below for the common settings every service inherits from `shared.settings.ServiceSettings`.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import itertools
import json
import sys
import textwrap
import typing
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

from shared.settings import DEV_EVENT_SECRET, ServiceSettings

# Descriptions of the common settings that carry none in the code (kept here, next to the generator).
COMMON_NOTES: dict[str, str] = {
    "service_name": "Name used in logs, metrics, traces and health answers.",
    "environment": "`development`, `test` or `production`. Production refuses development keys, secrets and "
    "issuers and turns off GraphQL introspection and GraphiQL.",
    "host": "Address the HTTP server binds to.",
    "port": "HTTP port.",
    "database_url": "PostgreSQL URL of this service's own database (`postgresql://user:pass@host:5432/db`).",
    "database_pool_size": "Connections kept open in the pool of each process.",
    "database_max_overflow": "Extra connections allowed above the pool size under load.",
    "data_dir": "Directory for local state in development (embedded PostgreSQL, development signing key, logs).",
    "jwt_issuer": "Expected `iss` of bearer tokens: your identity provider in production.",
    "jwt_audience": "Expected `aud` of bearer tokens.",
    "jwks_url": "Where the issuer publishes its signing keys (JWKS). Required in production; keys rotate "
    "without a restart.",
    "dev_key_path": "The development signing key (PEM). Must not be set in production.",
    "jwt_leeway_seconds": "Clock skew tolerated when checking `exp` and `nbf`.",
    "event_secret": "Standard Webhooks secret (`whsec_…`) that signs and verifies events between services. "
    "Must be the same on every service; production refuses the development value.",
    "outbox_poll_interval": "Seconds between outbox relay polls, the safety net: each outbox write wakes the "
    "relays at commit (LISTEN/NOTIFY) and a due retry wakes them on time.",
    "outbox_batch_size": "Events a relay claims per round (`FOR UPDATE SKIP LOCKED`).",
    "outbox_max_attempts": "Delivery attempts before an event is dead-lettered.",
    "outbox_backoff_base": "First retry delay in seconds; doubled each attempt, with jitter.",
    "outbox_backoff_max": "Longest retry delay in seconds.",
    "outbox_delivery_timeout": "Seconds one delivery may take before it counts as failed.",
    "relay_enabled": "Run the outbox relay in this process (turn off to run relays separately).",
    "max_body_bytes": "Largest request body accepted (413 above it).",
    "rate_limit_burst": "Requests a client may make at once above the sustained rate.",
    "request_timeout_seconds": "A request taking longer is answered 503.",
    "log_level": "`DEBUG`, `INFO`, `WARNING` or `ERROR`. Logs are JSON and never contain personal data.",
    "subscribers": "JSON list of internal subscribers of this service's events: "
    '`[{"name", "url", "event_types": [...]}]`.',
    "match_candidate_limit": "Most candidates a person-match answer lists.",
    "framework_cache_seconds": "How long the active framework is used before asking outcomes again "
    "(revalidated by ETag).",
    "outcomes_timeout_seconds": "Seconds to wait for the outcomes service when reading the active framework.",
    "cases_url": "Base URL of the cases service.",
    "intelligence_url": "Base URL of the intelligence service.",
    "outcomes_url": "Base URL of the outcomes service.",
    "referrals_url": "Base URL of the referrals service.",
    "decision_working_days": "Working days (England and Wales bank holidays excluded) within which a referral "
    "must be decided; later is an SLA breach.",
    "default_hub": "Hub that takes referrals whose postcode no hub covers.",
    "upstream_timeout_seconds": "Seconds the gateway waits for a service before answering with partial data.",
    "upstream_connect_timeout_seconds": "Seconds to connect to a service.",
    "upstream_max_connections": "Pooled connections per upstream service.",
    "max_depth": "Deepest GraphQL selection accepted.",
    "max_aliases": "Most aliases in one GraphQL document.",
    "max_tokens": "Most tokens in one GraphQL document.",
    "max_complexity": "Highest estimated cost of one GraphQL query (page sizes multiply).",
    "max_page_size": "Largest `first:` accepted on a connection.",
    "default_page_size": "Page size when `first:` is not given.",
}

SECRET_DEFAULTS = {DEV_EVENT_SECRET: "development secret (refused in production)"}


@dataclass(frozen=True)
class Part:
    name: str
    prefix: str
    settings: type[BaseSettings]
    summary: str


def parts() -> list[Part]:
    from cases.config import Settings as CasesSettings
    from gateway.config import Settings as GatewaySettings
    from intelligence.config import Settings as IntelligenceSettings
    from outcomes.config import Settings as OutcomesSettings
    from referrals.config import Settings as ReferralsSettings

    return [
        Part("gateway", "GATEWAY_", GatewaySettings, "The GraphQL gateway (owns no database)."),
        Part("referrals", "REFERRALS_", ReferralsSettings, "Referral intake, triage, SLA and partner webhooks."),
        Part("cases", "CASES_", CasesSettings, "People, families, cases, lead workers and plans."),
        Part("outcomes", "OUTCOMES_", OutcomesSettings, "Frameworks, observations, evaluation, claims, reports."),
        Part(
            "intelligence",
            "INTELLIGENCE_",
            IntelligenceSettings,
            "Partner datasets, record linkage and identified families (family intelligence).",
        ),
    ]


def attribute_docstrings(cls: type) -> dict[str, str]:
    """`name: T = default` followed by a string literal, over the class and its bases (nearest wins)."""
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass is object or not issubclass(klass, BaseModel) or klass in (BaseModel, BaseSettings):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, following in itertools.pairwise(body):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                found[node.target.id] = " ".join(following.value.value.split())
    return found


def type_name(annotation: Any) -> str:
    if annotation is None or annotation is type(None):
        return "null"
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return " or ".join(type_name(a) for a in typing.get_args(annotation))
    if origin is list:
        (item,) = typing.get_args(annotation) or (Any,)
        return f"list of {type_name(item)} (JSON)"
    if isinstance(annotation, type):
        if issubclass(annotation, Enum):
            return " / ".join(str(m.value) for m in annotation)
        if issubclass(annotation, BaseModel):
            return "object"
        return {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "Path": "path"}.get(
            annotation.__name__, annotation.__name__
        )
    return str(annotation)


def default_text(name: str, field: FieldInfo) -> str:
    if name == "data_dir":
        return "`.data` in the working directory"
    if field.default_factory is not None:
        value: Any = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return "*(required)*"
    else:
        value = field.default
    if value is None:
        return "*(unset)*"
    if isinstance(value, str) and value in SECRET_DEFAULTS:
        return SECRET_DEFAULTS[value]
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        value = str(value).lower()
    if isinstance(value, list):
        value = json.dumps([v.model_dump() if isinstance(v, BaseModel) else v for v in value])
    if value == "":
        return "*(empty)*"
    return f"`{value}`"


def describe(name: str, field: FieldInfo, docs: dict[str, str]) -> str:
    text = field.description or docs.get(name) or COMMON_NOTES.get(name) or ""
    return text.replace("|", "\\|").replace("\n", " ")


def render() -> str:
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated by `python -m earlyhelp.configref` from the settings classes; do not edit by hand.",
        "     tests/docs/test_configref.py fails when this file is out of date. -->",
        "",
        "Every part reads its settings from environment variables with its own prefix (`GATEWAY_`, `REFERRALS_`,",
        "`CASES_`, `OUTCOMES_`, `INTELLIGENCE_`); names are case-insensitive. Lists are JSON. The four services share",
        f"the common settings of `{ServiceSettings.__module__}.{ServiceSettings.__name__}`; the gateway has those too",
        "but uses no database and consumes no events. See [operators.md](operators.md) for the production checklist.",
        "",
    ]
    for part in parts():
        docs = attribute_docstrings(part.settings)
        lines += [f"## {part.name} (`{part.prefix}*`)", "", part.summary, ""]
        lines += ["| variable | type | default | description |", "|---|---|---|---|"]
        for name, field in part.settings.model_fields.items():
            variable = f"{part.prefix}{name}".upper()
            lines.append(
                f"| `{variable}` | {type_name(field.annotation)} | {default_text(name, field)} "
                f"| {describe(name, field, docs)} |"
            )
        lines.append("")
    return "\n".join(lines)


def undocumented() -> list[str]:
    """Settings that would render without a description."""
    missing = []
    for part in parts():
        docs = attribute_docstrings(part.settings)
        for name, field in part.settings.model_fields.items():
            if not describe(name, field, docs):
                missing.append(f"{part.prefix}{name}".upper())
    return missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", type=Path, help="compare with this file instead of printing; exit 1 if stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check is not None:
        if args.check.read_text() != text:
            print(f"{args.check} is out of date: run `python -m earlyhelp.configref > {args.check}`")
            return 1
        print(f"{args.check} is up to date")
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
