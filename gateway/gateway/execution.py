"""A shorter path through graphql-core for the leaves of a result that read an attribute.

Most of a large result is leaves read straight off an object: the family page's ~955 fields are mostly ids, names
and statuses. For each, graphql-core builds a resolve info (strawberry's, with a dozen fields), looks for
arguments, checks the answer for an awaitable twice and walks `complete_value` through the non-null wrapper to
`complete_leaf_value` — while strawberry's resolver for such a field (`is_basic_field`: no resolver, no
extension, no permission class) ignores the info and reads the attribute. `LeanExecutor` reads it and coerces it
as `complete_leaf_value` does, and hands every other case to graphql-core's own path: a field with a resolver,
an extension or arguments, an object or list, and any leaf whose value is null, an error, an awaitable or one that
does not coerce — so that what a client sees, errors and their paths included, is graphql-core's answer.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLObjectType,
    Undefined,
    is_leaf_type,
    is_non_null_type,
)
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

LeafPlan = tuple[Any, GraphQLLeafType] | None
_PLAN = "_gateway_leaf_plan"
"""Each field definition keeps its plan (its attribute reader and leaf type, or None) on itself: it lives as long
as its schema, and a test process builds many schemas."""


def _plan(field_def: GraphQLField) -> LeafPlan:
    attributes = vars(field_def)
    if _PLAN in attributes:
        found: LeafPlan = attributes[_PLAN]
        return found
    plan: LeafPlan = None
    resolve = field_def.resolve
    field_type = field_def.type
    leaf = field_type.of_type if is_non_null_type(field_type) else field_type
    # strawberry marks the resolver of a basic field `_is_default` (schema_converter.from_resolver)
    if resolve is not None and getattr(resolve, "_is_default", False) and is_leaf_type(leaf) and not field_def.args:
        plan = (resolve, leaf)
    attributes[_PLAN] = plan
    return plan


class LeanExecutor(StrawberryGraphQLCoreExecutionContext):
    """strawberry's executor, with the shorter path for leaves that read an attribute."""

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        node = field_details_list[0].node
        field_def = self.schema.get_field(parent_type, node.name.value)
        middleware = self.middleware_manager  # strawberry passes one per request, empty unless an extension resolves
        plan = _plan(field_def) if field_def is not None and not (middleware and middleware.middlewares) else None
        if plan is not None and not node.arguments:
            resolve, leaf = plan
            try:
                value = resolve(source, None)
                ordinary = value is not None and value is not Undefined and not isinstance(value, Exception)
                if ordinary and not self.is_awaitable(value):
                    coerced = leaf.coerce_output_value(value)
                    if coerced is not None and coerced is not Undefined:
                        return coerced
            except Exception:  # graphql-core's own path below reports it, located as it should be
                pass
        return super().execute_field(parent_type, source, field_details_list, path, position_context)
