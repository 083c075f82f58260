"""A small kustomize renderer for the features deploy/kubernetes uses (kustomize itself is not installed here).

Supported, with kustomize's semantics: `resources` (files of YAML documents, or directories holding a
kustomization.yaml), `namespace`, `images` (name → newName/newTag, or newName@digest) and `patches` — either
`path:` to a file holding ONE strategic merge patch (its target is the kind and name it names) or an inline
JSON 6902 `patch:` applied to every resource matching `target` (kind, name). Anything else in a kustomization
raises, so a feature the renderer does not understand can never be silently ignored by the tests.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

SUPPORTED_KEYS = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass"}
POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}

Resource = dict[str, Any]


class UnsupportedKustomization(ValueError):
    pass


def load_documents(path: Path) -> list[Resource]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def render(directory: Path) -> list[Resource]:
    """Render a kustomization directory to its list of resources."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - SUPPORTED_KEYS
    if unknown:
        raise UnsupportedKustomization(f"{directory}: unsupported kustomization keys {sorted(unknown)}")
    if kustomization.get("kind") != "Kustomization":
        raise UnsupportedKustomization(f"{directory}: kind must be Kustomization")

    resources: list[Resource] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        resources.extend(render(path) if path.is_dir() else load_documents(path))
    _check_unique(resources, directory)

    for patch in kustomization.get("patches", []):
        if "path" in patch:
            if set(patch) - {"path"}:
                raise UnsupportedKustomization(f"{directory}: path patches take no other keys: {patch}")
            documents = load_documents(directory / patch["path"])
            if len(documents) != 1:
                raise UnsupportedKustomization(f"{patch['path']}: a patch file holds exactly one document")
            smp = documents[0]
            targets = select(resources, kind=smp["kind"], name=smp["metadata"]["name"])
            if len(targets) != 1:
                raise UnsupportedKustomization(f"{patch['path']}: matches {len(targets)} resources, not 1")
            merged = strategic_merge(targets[0], smp)
            targets[0].clear()
            targets[0].update(merged)
        elif set(patch) == {"target", "patch"}:
            target = patch["target"]
            if set(target) - {"kind", "name"}:
                raise UnsupportedKustomization(f"{directory}: unsupported target selector {target}")
            targets = select(resources, kind=target.get("kind"), name=target.get("name"))
            if not targets:
                raise UnsupportedKustomization(f"{directory}: patch target {target} matches nothing")
            for resource in targets:
                for op in yaml.safe_load(patch["patch"]):
                    apply_json_patch_op(resource, op)
        else:
            raise UnsupportedKustomization(f"{directory}: unsupported patch entry {patch}")

    for image in kustomization.get("images", []):
        if set(image) - {"name", "newName", "newTag", "digest"} or {"newTag", "digest"} <= set(image):
            raise UnsupportedKustomization(f"{directory}: unsupported image entry {image}")
        matched = 0
        for container in all_containers(resources):
            name, _, _tag = container["image"].partition("@")[0].partition(":")
            if name == image["name"]:
                if "digest" in image:  # kustomize replaces the tag by the digest
                    container["image"] = f"{image.get('newName', name)}@{image['digest']}"
                else:
                    container["image"] = f"{image.get('newName', name)}:{image.get('newTag', _tag or 'latest')}"
                matched += 1
        if not matched:
            raise UnsupportedKustomization(f"{directory}: image {image['name']} is used by no container")

    namespace = kustomization.get("namespace")
    if namespace:
        for resource in resources:
            if resource["kind"] == "Namespace":
                if resource["metadata"]["name"] != namespace:
                    raise UnsupportedKustomization(f"{directory}: Namespace object is not {namespace}")
            elif resource["kind"] not in CLUSTER_SCOPED:
                resource["metadata"]["namespace"] = namespace
    return resources


def _check_unique(resources: list[Resource], directory: Path) -> None:
    seen: set[tuple[str, str]] = set()
    for resource in resources:
        key = (resource["kind"], resource["metadata"]["name"])
        if key in seen:
            raise UnsupportedKustomization(f"{directory}: duplicate resource {key}")
        seen.add(key)


def select(resources: list[Resource], *, kind: str | None = None, name: str | None = None) -> list[Resource]:
    return [
        r for r in resources if (kind is None or r["kind"] == kind) and (name is None or r["metadata"]["name"] == name)
    ]


def pod_spec(resource: Resource) -> dict[str, Any] | None:
    if resource["kind"] not in POD_TEMPLATE_KINDS:
        return None
    template = resource["spec"]["jobTemplate"]["spec"] if resource["kind"] == "CronJob" else resource["spec"]
    spec: dict[str, Any] = template["template"]["spec"]
    return spec


def all_containers(resources: list[Resource]) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = []
    for resource in resources:
        spec = pod_spec(resource)
        if spec is not None:
            containers.extend(spec.get("initContainers", []) + spec["containers"])
    return containers


def strategic_merge(original: Any, patch: Any) -> Any:
    """Strategic merge as kustomize does it for the fields we patch: maps merge recursively (null deletes a key),
    lists of objects that all carry a `name` merge by name, any other list is replaced."""
    if isinstance(original, dict) and isinstance(patch, dict):
        result = copy.deepcopy(original)
        for key, value in patch.items():
            if value is None:
                result.pop(key, None)
            elif key in result:
                result[key] = strategic_merge(result[key], value)
            else:
                result[key] = copy.deepcopy(value)
        return result
    if isinstance(original, list) and isinstance(patch, list) and _named(original) and _named(patch):
        result_list = copy.deepcopy(original)
        index = {item["name"]: i for i, item in enumerate(result_list)}
        for item in patch:
            if item["name"] in index:
                result_list[index[item["name"]]] = strategic_merge(result_list[index[item["name"]]], item)
            else:
                result_list.append(copy.deepcopy(item))
        return result_list
    return copy.deepcopy(patch)


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(i, dict) and "name" in i for i in items)


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise UnsupportedKustomization(f"JSON pointer must start with '/': {path}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def apply_json_patch_op(document: Resource, op: dict[str, Any]) -> None:
    """JSON Patch (RFC 6902) add, replace and remove."""
    kind = op["op"]
    if kind not in {"add", "replace", "remove"}:
        raise UnsupportedKustomization(f"unsupported JSON patch op {kind}")
    *parents, last = _pointer(op["path"])
    node: Any = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        if kind == "add":
            node.insert(len(node) if last == "-" else int(last), copy.deepcopy(op["value"]))
            return
        index = int(last)
        if not 0 <= index < len(node):
            raise UnsupportedKustomization(f"{op['path']}: index out of range")
        if kind == "replace":
            node[index] = copy.deepcopy(op["value"])
        else:
            del node[index]
        return
    if kind in {"replace", "remove"} and last not in node:
        raise UnsupportedKustomization(f"{op['path']}: no such member to {kind}")
    if kind == "remove":
        del node[last]
    else:
        node[last] = copy.deepcopy(op["value"])
