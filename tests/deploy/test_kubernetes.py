"""deploy/kubernetes: every rendered manifest is valid against the Kubernetes schemas and matches the code."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
from code_facts import (
    DEPLOY,
    PARTS,
    ROOT,
    SERVICES,
    default_port,
    dockerfile_instructions,
    env_prefix,
    exec_form,
    import_factory,
    part_of_env_name,
    setting_env_names,
    settings_class,
    uvicorn_target_and_port,
)
from kustomize_render import (
    UnsupportedKustomization,
    pod_spec,
    render,
    select,
)

K8S = DEPLOY / "kubernetes"
TARGETS = {"base": K8S / "base", "staging": K8S / "overlays" / "staging", "production": K8S / "overlays" / "production"}
KUBERNETES_VERSIONS = ("1.30", "1.34")
SECRET_SETTINGS = ("DATABASE_URL", "EVENT_SECRET", "SERVICE_TOKEN", "DEV_KEY_PATH")
SECRETS_DIR_VARIABLE = "EARLYHELP_SECRETS_DIR"
"""The one variable without a part's prefix: where `shared.settings` reads secrets from files (`secrets_dir`)."""
SECRETS_DIR = "/run/secrets/earlyhelp"
STAND_INS = {
    "url": "postgresql://{part}:s3cret@db.internal:5432/{part}",
    "secret": "whsec_cHJvZHVjdGlvbi1zdGFuZC1pbi1ldmVudC1zZWNyZXQ=",
    "token": "eyJ.stand-in.token",
}
"""Realistic non-development values for the Secrets' keys."""
CALLS = {
    "referrals": {"cases", "outcomes"},
    "cases": {"referrals", "outcomes"},
    "outcomes": {"cases"},
    "intelligence": {"cases", "outcomes", "referrals"},
    "gateway": {"referrals", "cases", "outcomes", "intelligence"},
}
EXTERNAL = {"gateway", "referrals"}
Resource = dict[str, Any]


@pytest.fixture(scope="module", params=list(TARGETS))
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[Resource]]:
    return request.param, render(TARGETS[request.param])


def one(resources: list[Resource], kind: str, name: str) -> Resource:
    found = select(resources, kind=kind, name=name)
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def image_part(image: str) -> str:
    """`registry.example.org/earlyhelp/cases:1.2` → `cases`."""
    name = image.rsplit("/", 1)[-1].partition("@")[0].partition(":")[0]
    assert name in PARTS, f"image {image} is not one of the parts built by deploy/docker"
    return name


def dockerfile_cmd_and_expose(part: str) -> tuple[list[str], int]:
    instructions = [i for i in dockerfile_instructions(part) if i.stage == 1]
    cmd = exec_form(next(i.args for i in instructions if i.keyword == "CMD"))
    expose = int(next(i.args for i in instructions if i.keyword == "EXPOSE"))
    return cmd, expose


def secret_files(spec: dict[str, Any], container: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """The files the container reads in EARLYHELP_SECRETS_DIR: file name → (Secret, key)."""
    env = {e["name"]: e for e in container.get("env", [])}
    if SECRETS_DIR_VARIABLE not in env:
        return {}
    directory = env[SECRETS_DIR_VARIABLE]["value"]
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == directory]
    assert mount["readOnly"] is True
    (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    files = {}
    for source in volume["projected"]["sources"]:
        for item in source["secret"]["items"]:
            files[item["path"]] = (source["secret"]["name"], item["key"])
    return files


def container_env_names(resources: list[Resource], container: dict[str, Any]) -> dict[str, str]:
    """Every environment variable the container gets, mapped to where it comes from."""
    names: dict[str, str] = {}
    for source in container.get("envFrom", []):
        config_map = one(resources, "ConfigMap", source["configMapRef"]["name"])
        for key in config_map["data"]:
            names[key] = f"ConfigMap {config_map['metadata']['name']}"
    for env in container.get("env", []):
        names[env["name"]] = "secret" if "secretKeyRef" in env.get("valueFrom", {}) else "value"
    return names


def container_env_values(resources: list[Resource], container: dict[str, Any]) -> dict[str, str]:
    """The environment variables as the process would see them."""
    values: dict[str, str] = {}
    for source in container.get("envFrom", []):
        values.update(one(resources, "ConfigMap", source["configMapRef"]["name"])["data"])
    for env in container.get("env", []):
        values[env["name"]] = env["value"]
    return values


def deployments(resources: list[Resource]) -> dict[str, Resource]:
    found = {d["metadata"]["name"]: d for d in select(resources, kind="Deployment")}
    assert set(found) == set(PARTS)
    return found


# --- schema validation ------------------------------------------------------------------------------------


def test_every_manifest_is_valid_against_the_kubernetes_schemas(rendered: tuple[str, list[Resource]]) -> None:
    """Strict validation (unknown fields rejected); the base also against the oldest version we support."""
    name, resources = rendered
    kinds = {r["kind"] for r in resources}
    assert {"Deployment", "Service", "ConfigMap", "Job", "PodDisruptionBudget", "HorizontalPodAutoscaler"} <= kinds
    assert {"NetworkPolicy", "Ingress", "ServiceAccount"} <= kinds
    for version in KUBERNETES_VERSIONS if name == "base" else KUBERNETES_VERSIONS[-1:]:
        for resource in resources:
            kubernetes_validate.validate(resource, version, strict=True)


def test_the_validator_rejects_a_broken_manifest() -> None:
    deployment = copy.deepcopy(one(render(TARGETS["base"]), "Deployment", "cases"))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["port"] = {"no": 1}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)
    deployment = copy.deepcopy(one(render(TARGETS["base"]), "Deployment", "cases"))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


def test_the_renderer_refuses_what_it_does_not_understand(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\ncommonLabels: {a: b}\n"
    )
    with pytest.raises(UnsupportedKustomization):
        render(tmp_path)


# --- the code: images, commands, ports, probes, environment ----------------------------------------------


def test_deployments_run_the_parts_images_ports_and_probes(rendered: tuple[str, list[Resource]]) -> None:
    _, resources = rendered
    for name, deployment in deployments(resources).items():
        spec = deployment["spec"]["template"]["spec"]
        assert len(spec["containers"]) == 1
        container = spec["containers"][0]
        part = image_part(container["image"])
        assert part == name
        assert "command" not in container and "args" not in container, "the image's CMD is the entry point"
        cmd, expose = dockerfile_cmd_and_expose(part)
        target, cmd_port = uvicorn_target_and_port(cmd)
        assert target == f"{part}.app:create_app"
        assert callable(import_factory(target))
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"http": default_port(part)} == {"http": cmd_port} == {"http": expose}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        resources_ = container["resources"]
        assert {"cpu", "memory"} <= set(resources_["requests"]) and {"cpu", "memory"} <= set(resources_["limits"])
        # graceful shutdown: the pod outlives the endpoint removal (preStop) plus uvicorn's graceful timeout
        graceful = int(cmd[cmd.index("--timeout-graceful-shutdown") + 1])
        pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
        assert spec["terminationGracePeriodSeconds"] >= pre_stop + graceful + 10


def test_every_pod_runs_as_non_root_on_a_read_only_filesystem(rendered: tuple[str, list[Resource]]) -> None:
    _, resources = rendered
    pods = [r for r in resources if pod_spec(r) is not None]
    # Deployments, migration Jobs, and the retention CronJobs of referrals, cases and outcomes
    assert len(pods) == len(PARTS) + len(SERVICES) + 3
    for resource in pods:
        spec = pod_spec(resource)
        assert spec is not None
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] == 10001  # the USER of every Dockerfile
        assert spec["automountServiceAccountToken"] is False
        volumes = {v["name"]: v for v in spec["volumes"]}
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"]["drop"] == ["ALL"]
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert len(tmp) == 1 and "emptyDir" in volumes[tmp[0]["name"]]


def test_dockerfiles_run_as_the_user_the_manifests_expect() -> None:
    for part in PARTS:
        users = [i.args for i in dockerfile_instructions(part) if i.keyword == "USER" and i.stage == 1]
        assert users == ["10001:10001"]


def test_every_environment_variable_is_a_setting_of_its_part(rendered: tuple[str, list[Resource]]) -> None:
    _, resources = rendered
    for resource in resources:
        spec = pod_spec(resource)
        if spec is None:
            continue
        part = image_part(spec["containers"][0]["image"])
        for container in spec["containers"]:
            for name in secret_files(spec, container):
                assert name in setting_env_names(part), f"secret file {name} is not a field of {part}.config.Settings"
            for name, source in container_env_names(resources, container).items():
                if name == SECRETS_DIR_VARIABLE:
                    assert source == "value" and container_env_values(resources, container)[name] == SECRETS_DIR
                    continue
                owner = part_of_env_name(name)
                if source.startswith("ConfigMap earlyhelp-environment") and owner != part:
                    # the shared environment ConfigMap carries every part's keys; each reads its own prefix
                    assert owner is not None and name in setting_env_names(owner), name
                    continue
                assert owner == part, f"{resource['metadata']['name']}: {name} does not carry {env_prefix(part)}"
                assert name in setting_env_names(part), f"{name} is not a field of {part}.config.Settings"


def test_secrets_are_files_never_inlined_nor_environment_variables(rendered: tuple[str, list[Resource]]) -> None:
    _, resources = rendered
    assert not select(resources, kind="Secret")
    text = json.dumps(resources)
    assert "postgresql://" not in text and "whsec_" not in text
    assert "secretKeyRef" not in text, "a Secret as an environment variable (checkov CKV_K8S_35)"
    for resource in resources:
        spec = pod_spec(resource)
        if spec is None:
            continue
        for container in spec["containers"]:
            names = container_env_names(resources, container)
            assert not any(name.endswith(SECRET_SETTINGS) for name in names), names
            for volume in spec["volumes"]:
                if "projected" in volume:
                    assert volume["projected"]["defaultMode"] == 0o440, "owner and fsGroup read, nobody writes"


def test_services_get_their_database_event_secret_and_service_token_from_secret_files(
    rendered: tuple[str, list[Resource]],
) -> None:
    _, resources = rendered
    for part in SERVICES:
        spec = one(resources, "Deployment", part)["spec"]["template"]["spec"]
        prefix = env_prefix(part)
        assert secret_files(spec, spec["containers"][0]) == {
            f"{prefix}DATABASE_URL": (f"{part}-database", "url"),
            f"{prefix}EVENT_SECRET": ("earlyhelp-event-secret", "secret"),
            f"{prefix}SERVICE_TOKEN": (f"{part}-service-token", "token"),
        }
    gateway = one(resources, "Deployment", "gateway")["spec"]["template"]["spec"]
    assert secret_files(gateway, gateway["containers"][0]) == {}, "the gateway holds no secret"


def test_the_configuration_passes_the_production_checks_of_every_part(
    rendered: tuple[str, list[Resource]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Start-up validation (`environment=production`) accepts what the manifests give each part."""
    import os

    _, resources = rendered
    for part, deployment in deployments(resources).items():
        spec = deployment["spec"]["template"]["spec"]
        container = spec["containers"][0]
        values = container_env_values(resources, container)
        secrets = tmp_path / part
        secrets.mkdir()
        for file, (_, key) in secret_files(spec, container).items():
            (secrets / file).write_text(STAND_INS[key].format(part=part) + "\n")
        with monkeypatch.context() as env:
            for name in list(os.environ):
                if part_of_env_name(name) is not None:
                    env.delenv(name)
            for name, value in values.items():
                env.setenv(name, value)
            # the files a pod finds in EARLYHELP_SECRETS_DIR (the class reads that variable when it is imported)
            settings: Any = settings_class(part)(_secrets_dir=secrets)
        assert settings.is_production, part
        assert settings.port == default_port(part)
        assert settings.jwks_url and settings.jwks_url.startswith("https://")
        if part in SERVICES:
            assert settings.database_url.startswith("postgresql://")


def test_migration_jobs_run_the_migrate_script_with_the_services_database_secret(
    rendered: tuple[str, list[Resource]],
) -> None:
    _, resources = rendered
    jobs = {j["metadata"]["name"]: j for j in select(resources, kind="Job")}
    assert set(jobs) == {f"{s}-migrate" for s in SERVICES}
    for part in SERVICES:
        spec = pod_spec(jobs[f"{part}-migrate"])
        assert spec is not None and spec["restartPolicy"] == "Never"
        container = spec["containers"][0]
        assert image_part(container["image"]) == part
        deployment_image = one(resources, "Deployment", part)["spec"]["template"]["spec"]["containers"][0]["image"]
        assert container["image"] == deployment_image, "the Job migrates with the image being rolled out"
        assert container["command"][:3] == ["python", "deploy/migrate.py", part]
        assert (ROOT / container["command"][1]).is_file()
        copies = [i.args for i in dockerfile_instructions(part) if i.keyword == "COPY" and i.stage == 1]
        assert "deploy/migrate.py deploy/migrate.py" in copies
        assert container["env"] == [{"name": SECRETS_DIR_VARIABLE, "value": SECRETS_DIR}]
        assert secret_files(spec, container) == {f"{env_prefix(part)}DATABASE_URL": (f"{part}-database", "url")}


def test_every_deployment_has_a_service_pdb_and_hpa(rendered: tuple[str, list[Resource]]) -> None:
    _, resources = rendered
    for part, deployment in deployments(resources).items():
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= pod_labels.items()
        service = one(resources, "Service", part)
        assert service["spec"]["selector"] == selector
        assert service["spec"]["ports"] == [
            {"name": "http", "port": default_port(part), "targetPort": "http", "protocol": "TCP"}
        ]
        assert one(resources, "PodDisruptionBudget", part)["spec"]["selector"]["matchLabels"] == selector
        hpa = one(resources, "HorizontalPodAutoscaler", part)["spec"]
        assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": part}
        assert 2 <= hpa["minReplicas"] <= deployment["spec"]["replicas"] <= hpa["maxReplicas"]
        assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == part
        one(resources, "ServiceAccount", part)
        # no other pod (e.g. a migration Job) is selected by the Service
        for other in resources:
            spec = pod_spec(other)
            if spec is not None and other is not deployment:
                template = other["spec"]["jobTemplate"]["spec"] if other["kind"] == "CronJob" else other["spec"]
                other_labels = template["template"]["metadata"]["labels"]
                assert not selector.items() <= other_labels.items(), other["metadata"]["name"]


def test_nothing_mounts_over_the_hub_mapping(rendered: tuple[str, list[Resource]]) -> None:
    """The hub postcode mapping is data in the referrals database (`earlyhelp hubs load`, effective without a
    restart): a ConfigMap mounted over the package's demo file would change nothing and mislead."""
    _, resources = rendered
    spec = one(resources, "Deployment", "referrals")["spec"]["template"]["spec"]
    mounts = [m["mountPath"] for m in spec["containers"][0]["volumeMounts"]]
    assert not [m for m in mounts if "hub_districts" in m], mounts
    assert not [r for r in resources if r["kind"] == "ConfigMap" and r["metadata"]["name"] == "referrals-hubs"]


# --- wiring between the parts and the network policies -------------------------------------------------------


def service_urls(resources: list[Resource]) -> list[tuple[str, str, str]]:
    """(caller, setting, url) for every URL of another part a part is configured with."""
    found: list[tuple[str, str, str]] = []
    for config_map in select(resources, kind="ConfigMap"):
        for key, value in config_map.get("data", {}).items():
            owner = part_of_env_name(key)
            if owner is None:
                continue
            if key.endswith("_SUBSCRIBERS"):
                found.extend((owner, key, s["url"]) for s in json.loads(value))
            elif key.endswith("_URL") and value.startswith("http://"):
                found.append((owner, key, value))
    return found


def allowed_edges(resources: list[Resource]) -> tuple[set[tuple[str, str, int]], set[tuple[str, str, int]]]:
    """(egress edges caller → callee:port, ingress edges caller → callee:port) between the parts' API pods."""
    egress: set[tuple[str, str, int]] = set()
    ingress: set[tuple[str, str, int]] = set()
    for policy in select(resources, kind="NetworkPolicy"):
        selected = policy["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name")
        if selected is None:
            continue
        for rule in policy["spec"].get("egress", []):
            for peer in rule.get("to", []):
                target = peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name")
                if target:
                    egress.update((selected, target, p["port"]) for p in rule["ports"])
        for rule in policy["spec"].get("ingress", []):
            for peer in rule.get("from", []):
                source = peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name")
                if source:
                    ingress.update((source, selected, p["port"]) for p in rule["ports"])
    return egress, ingress


def test_network_policies_allow_exactly_the_calls_between_parts(rendered: tuple[str, list[Resource]]) -> None:
    _, resources = rendered
    expected = {(caller, callee, default_port(callee)) for caller, callees in CALLS.items() for callee in callees}
    egress, ingress = allowed_edges(resources)
    assert egress == expected
    assert ingress == expected


def test_every_configured_url_is_a_service_the_network_policies_let_the_caller_reach(
    rendered: tuple[str, list[Resource]],
) -> None:
    _, resources = rendered
    egress, _ = allowed_edges(resources)
    urls = service_urls(resources)
    callers = {caller for caller, _, _ in urls}
    assert callers == {"referrals", "cases", "outcomes", "intelligence", "gateway"}
    for caller, setting, url in urls:
        parts = urlsplit(url)
        service = one(resources, "Service", str(parts.hostname))
        assert parts.port == service["spec"]["ports"][0]["port"], setting
        assert (caller, parts.hostname, parts.port) in egress, f"{setting}={url} is blocked by the policies"
        if setting.endswith("_SUBSCRIBERS"):
            assert parts.path == "/v1/events"


def test_the_network_starts_from_deny_all_and_only_gateway_and_referrals_take_outside_traffic(
    rendered: tuple[str, list[Resource]],
) -> None:
    _, resources = rendered
    deny = one(resources, "NetworkPolicy", "default-deny")["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny
    from_outside: set[str] = set()
    for policy in select(resources, kind="NetworkPolicy"):
        selected = policy["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name")
        for rule in policy["spec"].get("ingress", []):
            for peer in rule.get("from", []):
                assert "ipBlock" not in peer, policy["metadata"]["name"]
                namespace = peer.get("namespaceSelector", {}).get("matchLabels", {})
                if namespace.get("kubernetes.io/metadata.name") == "ingress-nginx":
                    from_outside.add(selected)
    assert from_outside == EXTERNAL


def test_each_service_reaches_only_its_own_database(rendered: tuple[str, list[Resource]]) -> None:
    name, resources = rendered
    cidrs: dict[str, str] = {}
    for policy in select(resources, kind="NetworkPolicy"):
        for rule in policy["spec"].get("egress", []):
            if any(p["port"] == 5432 for p in rule["ports"]):
                selected = policy["spec"]["podSelector"]["matchLabels"]
                assert selected == {"app.kubernetes.io/name": policy["metadata"]["name"].removesuffix("-database")}
                (peer,) = rule["to"]
                cidrs[selected["app.kubernetes.io/name"]] = peer["ipBlock"]["cidr"]
    assert set(cidrs) == set(SERVICES)
    assert len(set(cidrs.values())) == len(SERVICES), "each database has its own address"
    if name != "base":
        assert not any(c.startswith("192.0.2.") for c in cidrs.values()), "the overlay sets the real addresses"


def test_the_ingress_routes_only_to_the_gateway_and_the_referral_intake(rendered: tuple[str, list[Resource]]) -> None:
    _, resources = rendered
    (ingress,) = select(resources, kind="Ingress")
    routes: dict[str, str] = {}
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            service = one(resources, "Service", backend["name"])
            assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
            routes[path["path"]] = backend["name"]
    assert set(routes.values()) == EXTERNAL
    assert routes["/graphql"] == "gateway"
    assert routes["/v1/referrals"] == "referrals"
    for path in routes:
        assert not path.startswith(("/v1/events", "/v1/admin", "/metrics", "/docs", "/openapi")), path
    assert ingress["spec"]["tls"][0]["hosts"] == [r["host"] for r in ingress["spec"]["rules"]]


# --- overlays -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", ["staging", "production"])
def test_overlays_set_namespace_images_and_identity_provider(overlay: str) -> None:
    resources = render(TARGETS[overlay])
    (namespace,) = select(resources, kind="Namespace")
    expected_ns = namespace["metadata"]["name"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for resource in resources:
        if resource["kind"] != "Namespace":
            assert resource["metadata"]["namespace"] == expected_ns
    for resource in resources:
        spec = pod_spec(resource)
        if spec is not None:
            image = spec["containers"][0]["image"]
            assert image.startswith("registry.example.org/earlyhelp/") and not image.endswith(":latest"), image
            if overlay == "production":  # by digest: what runs is exactly what the release tested
                assert re.fullmatch(r"registry\.example\.org/earlyhelp/[a-z]+@sha256:[0-9a-f]{64}", image), image
    environment = one(resources, "ConfigMap", "earlyhelp-environment")["data"]
    base_environment = one(render(TARGETS["base"]), "ConfigMap", "earlyhelp-environment")["data"]
    assert set(environment) == set(base_environment)
    assert environment["CASES_JWKS_URL"] != base_environment["CASES_JWKS_URL"] or overlay == "production"
    issuers = {v for k, v in environment.items() if k.endswith("_JWT_ISSUER")}
    assert len(issuers) == 1, "every part trusts the same identity provider"


def test_production_runs_more_replicas_than_staging() -> None:
    staging = deployments(render(TARGETS["staging"]))
    production = deployments(render(TARGETS["production"]))
    for part in PARTS:
        assert production[part]["spec"]["replicas"] > staging[part]["spec"]["replicas"] >= 2


def test_operations_guide_names_every_secret_the_manifests_reference() -> None:
    guide = (ROOT / "docs" / "operations.md").read_text()
    readme = (DEPLOY / "README.md").read_text()
    for target in TARGETS.values():
        resources = render(target)
        names = {
            secret
            for resource in resources
            if (spec := pod_spec(resource)) is not None
            for container in spec["containers"]
            for secret, _ in secret_files(spec, container).values()
        }
        names |= {tls["secretName"] for ingress in select(resources, kind="Ingress") for tls in ingress["spec"]["tls"]}
        assert names
        for name in names:
            assert f"`{name}`" in guide and f"`{name}`" in readme, name
