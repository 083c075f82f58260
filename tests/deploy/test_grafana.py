"""deploy/grafana: the dashboard shows every metric the code exports, and only metrics that exist."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from code_facts import DEPLOY
from prometheus_client import REGISTRY
from prometheus_client.metrics_core import Metric

DASHBOARD = DEPLOY / "grafana" / "earlyhelp-dashboard.json"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def exported_series() -> dict[str, set[str]]:
    """Metric family → the series names Prometheus scrapes, for the shared and the gateway metrics."""
    import gateway.metrics  # noqa: F401  (registers the gateway's metrics)
    import shared.metrics  # noqa: F401
    from shared.metrics import SERVICE_REGISTRY

    families: dict[str, set[str]] = {}
    for family in [*REGISTRY.collect(), *SERVICE_REGISTRY.collect()]:
        assert isinstance(family, Metric)
        if family.type in SUFFIXES and not family.name.startswith(("python_", "process_", "platform_")):
            families[family.name] = {family.name + suffix for suffix in SUFFIXES[family.type]}
    return families


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def expressions(dashboard: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def test_every_exported_metric_has_a_panel(dashboard: dict[str, Any]) -> None:
    text = "\n".join(expressions(dashboard))
    used = set(re.findall(r"[a-z_]+", text))
    families = exported_series()
    for required in (
        "http_requests",
        "http_request_duration_seconds",
        "outbox_deliveries",
        "outbox_publish_lag_seconds",
        "outbox_backlog",
        "outbox_dead_letters",
        "db_pool_connections_in_use",
        "gateway_upstream_requests",
    ):
        assert required in families, f"{required} is no longer exported by the code"
    for family, series in families.items():
        assert used & series, f"no panel shows {family}"


def test_every_metric_in_the_dashboard_is_exported(dashboard: dict[str, Any]) -> None:
    known = set().union(*exported_series().values())
    for expr in expressions(dashboard):
        selectors = re.findall(r"([a-z_]+)(?=\{|\[)", expr)
        assert selectors, expr
        for name in selectors:
            assert name in known, f"{name} in {expr!r} is not a metric the code exports"


def test_dashboard_structure(dashboard: dict[str, Any]) -> None:
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert dashboard["uid"] and dashboard["title"]
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "job"} <= variables
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "${datasource}"
            assert target["expr"].count("(") == target["expr"].count(")"), target["expr"]
