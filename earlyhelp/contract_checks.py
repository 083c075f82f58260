"""What this version promises: its OpenAPI documents and GraphQL SDL, and checks of a deployment against them.

Used by `earlyhelp smoke` (contract checks of a deployment) and by the conformance tests.
"""

from __future__ import annotations

from typing import Any

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def local_sdl() -> str:
    from gateway.schema_check import SDL_PATH

    return SDL_PATH.read_text()


def local_openapi(part: str) -> dict[str, Any]:
    """The OpenAPI document this version's app of `part` produces (no server, no database needed)."""
    if part == "gateway":
        from gateway.app import create_app as gateway_app
        from gateway.config import Settings as GatewaySettings

        return gateway_app(GatewaySettings(environment="test")).openapi()
    if part == "referrals":
        from referrals.app import create_app as referrals_app
        from referrals.config import Settings as ReferralsSettings

        return referrals_app(ReferralsSettings(environment="test")).openapi()
    if part == "cases":
        from cases.app import create_app as cases_app
        from cases.config import Settings as CasesSettings

        return cases_app(CasesSettings(environment="test")).openapi()
    if part == "outcomes":
        from outcomes.app import create_app as outcomes_app
        from outcomes.config import Settings as OutcomesSettings

        return outcomes_app(OutcomesSettings(environment="test")).openapi()
    raise ValueError(part)


def openapi_invalid(document: Any) -> str | None:
    """Why `openapi-spec-validator` rejects `document` (None when it is a valid OpenAPI 3.x document)."""
    from openapi_spec_validator import validate

    try:
        validate(document)
    except Exception as exc:  # a schema error, or a `$ref` that resolves nowhere (referencing's own exceptions)
        where = "/".join(str(p) for p in getattr(exc, "path", ()) or ())
        message = (str(getattr(exc, "message", "") or exc).splitlines() or ["not an OpenAPI 3 document"])[0]
        if " does not exist within " in message:  # referencing quotes the whole document after it
            message = message.split(" within ")[0] + " in the document"
        if len(message) > 300:
            message = message[:300] + "…"
        return f"{type(exc).__name__}{f' at {where}' if where else ''}: {message}"
    return None


def removed_operations(expected: dict[str, Any], deployed: dict[str, Any]) -> list[str]:
    """Paths and operations this version serves that the deployment does not (a client built on it would break)."""
    problems = []
    deployed_paths = deployed.get("paths", {})
    for path, item in expected.get("paths", {}).items():
        if path not in deployed_paths:
            problems.append(f"path removed: {path}")
            continue
        for method in HTTP_METHODS:
            if method in item and method not in deployed_paths[path]:
                problems.append(f"operation removed: {method.upper()} {path}")
    return problems


def graphql_breaking(local: str, deployed_introspection: dict[str, Any]) -> list[str]:
    from graphql import build_client_schema, build_schema, find_breaking_changes

    changes = find_breaking_changes(build_schema(local), build_client_schema(deployed_introspection))  # type: ignore[arg-type]
    return [f"{c.type.name}: {c.description}" for c in changes]


def probe_document(local: str) -> str:
    """One document selecting every root field of this version's schema with placeholder arguments.

    It is sent with `operationName` of a trivial query, so the server validates every operation (a removed
    field, argument or type fails validation) but executes only `{ __typename }`: no mutation runs.
    """
    from graphql import (
        GraphQLEnumType,
        GraphQLInputObjectType,
        GraphQLInputType,
        GraphQLList,
        GraphQLNonNull,
        GraphQLObjectType,
        GraphQLScalarType,
        build_schema,
        get_named_type,
        is_leaf_type,
    )

    schema = build_schema(local)

    def literal(t: GraphQLInputType) -> str:
        if isinstance(t, GraphQLNonNull):
            return literal(t.of_type)
        if isinstance(t, GraphQLList):
            return "[]"
        if isinstance(t, GraphQLEnumType):
            return str(next(iter(t.values)))
        if isinstance(t, GraphQLInputObjectType):
            required = [
                f"{name}: {literal(f.type)}"
                for name, f in t.fields.items()
                if isinstance(f.type, GraphQLNonNull) and f.default_value is None
            ]
            return "{" + ", ".join(required) + "}"
        if isinstance(t, GraphQLScalarType):
            return {
                "Int": "0",
                "Float": "0",
                "Boolean": "false",
                "Date": '"2000-01-01"',
                "DateTime": '"2000-01-01T00:00:00Z"',
                "JSON": "{}",
            }.get(t.name, '"00000000-0000-0000-0000-000000000000"')
        raise TypeError(t)

    def selections(root: GraphQLObjectType | None) -> list[str]:
        out = []
        for name, f in (root.fields if root else {}).items():
            args = [f"{a}: {literal(arg.type)}" for a, arg in f.args.items() if isinstance(arg.type, GraphQLNonNull)]
            call = name + (f"({', '.join(args)})" if args else "")
            out.append(call if is_leaf_type(get_named_type(f.type)) else call + " { __typename }")
        return out

    parts = ["query SmokeProbeRun { __typename }"]
    parts += [f"query SmokeProbeQuery{i} {{ {s} }}" for i, s in enumerate(selections(schema.query_type))]
    parts += [f"mutation SmokeProbeMutation{i} {{ {s} }}" for i, s in enumerate(selections(schema.mutation_type))]
    return "\n".join(parts)
