"""Each service's retention CronJob: nightly, never two at once, the service's own image (as rolled out) running
`python -m <service>.retention` with only its database secret."""

from __future__ import annotations

from typing import Any

from code_facts import ROOT
from kustomize_render import pod_spec, render, select

from earlyhelp.platform import SERVICES

OVERLAYS = ROOT / "deploy" / "kubernetes" / "overlays"


RETAINING = [s for s in SERVICES if s.name in ("referrals", "cases", "outcomes")]
"""The services whose records the retention schedule erases; intelligence erases each partner dataset itself when
its data sharing agreement's period ends (a background task of the service, docs/intelligence.md)."""


def test_every_service_has_a_retention_cronjob_on_its_own_image() -> None:
    for overlay in ("staging", "production"):
        resources: list[dict[str, Any]] = render(OVERLAYS / overlay)
        cronjobs = {c["metadata"]["name"]: c for c in select(resources, kind="CronJob")}
        assert set(cronjobs) == {f"{s.name}-retention" for s in RETAINING}, overlay
        for service in RETAINING:
            job = cronjobs[f"{service.name}-retention"]
            assert job["spec"]["concurrencyPolicy"] == "Forbid"
            spec = pod_spec(job)
            assert spec is not None and spec["restartPolicy"] == "Never"
            (container,) = spec["containers"]
            assert container["command"] == ["python", "-m", f"{service.name}.retention"]
            assert (ROOT / "services" / service.name / service.name / "retention" / "__main__.py").is_file()
            (deployment,) = select(resources, kind="Deployment", name=service.name)
            assert container["image"] == deployment["spec"]["template"]["spec"]["containers"][0]["image"]
            secrets = [
                s["secret"]["name"] for v in spec["volumes"] if "projected" in v for s in v["projected"]["sources"]
            ]
            assert secrets == [f"{service.name}-database"]
