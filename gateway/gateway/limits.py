"""Query limits enforced during validation (`gateway.documents`), so a refused query never reaches a resolver.

One pass over each operation (fragments expanded, each fragment analysed once and memoised, so a
"fragment bomb" costs no more than its text) measures:
* depth — nesting of fields (introspection fields `__…` are not counted);
* aliases — every aliased field, counted each time a fragment holding it is spread;
* estimated complexity — every field costs 1, and the selections under a paginated field (one whose schema
  definition takes `first` or `last`) count as many times as the page asks for: the value of `first` or `last`,
  or the default page size when the query gives neither (or null), as the connection then answers that many;
* page size — every `first` and `last` argument, literal or variable, must lie in 0..max_page_size.
The token limit is applied by the parser (`MaxTokensLimiter`), before the limits are measured.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)

from gateway.errors import ErrorCode

PAGE_ARGUMENTS = ("first", "last")


@dataclass(frozen=True, slots=True)
class QueryLimits:
    max_depth: int
    max_aliases: int
    max_complexity: int
    max_page_size: int
    default_page_size: int


@dataclass(slots=True)
class _Stats:
    depth: int = 0
    aliases: int = 0
    cost: int = 0


@dataclass
class _Analyser:
    limits: QueryLimits
    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]
    memo: dict[str, _Stats] = field(default_factory=dict)
    page_errors: list[GraphQLError] = field(default_factory=list)

    def selection_set(
        self, node: SelectionSetNode | None, parent: GraphQLNamedType | None, active: frozenset[str]
    ) -> _Stats:
        """The selections of `node` on the type `parent` (None where the document names a type the schema lacks:
        graphql-core's own rules report it, and its fields count as unpaginated)."""
        total = _Stats()
        if node is None:
            return total
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                stats = self.field(selection, parent, active)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                stats = self.selection_set(selection.selection_set, inner, active)
            elif isinstance(selection, FragmentSpreadNode):
                stats = self.spread(selection.name.value, active)
            else:  # pragma: no cover - the AST has no other selection kinds
                continue
            total.depth = max(total.depth, stats.depth)
            total.aliases += stats.aliases
            total.cost = _cap(total.cost + stats.cost)
        return total

    def spread(self, name: str, active: frozenset[str]) -> _Stats:
        if name in self.memo:
            return self.memo[name]
        fragment = self.fragments.get(name)
        if fragment is None or name in active:  # unknown or cyclic: graphql-core's own rules report it
            return _Stats()
        on = self.schema.get_type(fragment.type_condition.name.value)
        stats = self.selection_set(fragment.selection_set, on, active | {name})
        self.memo[name] = stats
        return stats

    def field(self, node: FieldNode, parent: GraphQLNamedType | None, active: frozenset[str]) -> _Stats:
        if node.name.value.startswith("__"):
            return _Stats()
        definition = None
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(node.name.value)
        child_type = get_named_type(definition.type) if definition else None
        child = self.selection_set(node.selection_set, child_type, active)
        page = self.page_size(node)
        if page is None and definition is not None and any(a in definition.args for a in PAGE_ARGUMENTS):
            page = self.limits.default_page_size  # a connection asked for without `first` or `last`
        multiplier = 1 if page is None else max(page, 1)
        return _Stats(
            depth=child.depth + 1,
            aliases=child.aliases + (1 if node.alias else 0),
            cost=_cap(1 + child.cost * multiplier),
        )

    def page_size(self, node: FieldNode) -> int | None:
        sizes = [self.argument_size(node, a) for a in node.arguments or () if a.name.value in PAGE_ARGUMENTS]
        return max(sizes) if sizes else None

    def argument_size(self, node: FieldNode, argument: ArgumentNode) -> int:
        value: Any = None
        if isinstance(argument.value, IntValueNode):
            value = int(argument.value.value)
        elif isinstance(argument.value, VariableNode):
            value = self.variables.get(argument.value.name.value)
        if value is None:
            return self.limits.default_page_size
        if not isinstance(value, int) or isinstance(value, bool):
            return self.limits.default_page_size  # a type error, reported by graphql-core's own rules
        if value < 0 or value > self.limits.max_page_size:
            self.page_errors.append(
                GraphQLError(
                    f"`{argument.name.value}` on `{node.name.value}` is {value}; it must be between 0 and "
                    f"{self.limits.max_page_size}",
                    nodes=[node],
                    extensions={
                        "code": ErrorCode.PAGE_SIZE_EXCEEDED.value,
                        "limit": self.limits.max_page_size,
                    },
                )
            )
            return self.limits.max_page_size
        return value


_CAP = 10**12


def _cap(value: int) -> int:
    return min(value, _CAP)


def limit_errors(
    document: DocumentNode, limits: QueryLimits, variables: Mapping[str, Any] | None, schema: GraphQLSchema
) -> list[GraphQLError]:
    """The limits each operation of `document` exceeds with these variables, as validation errors."""
    errors: list[GraphQLError] = []
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    analyser = _Analyser(limits, schema, fragments, variables or {})
    for operation in document.definitions:
        if not isinstance(operation, OperationDefinitionNode):
            continue
        root = schema.get_root_type(operation.operation)
        stats = analyser.selection_set(operation.selection_set, root, frozenset())
        name = operation.name.value if operation.name else "anonymous"
        if stats.depth > limits.max_depth:
            errors.append(
                _refusal(
                    f"Operation {name!r} is {stats.depth} levels deep; the limit is {limits.max_depth}",
                    ErrorCode.QUERY_TOO_DEEP,
                    operation,
                    limits.max_depth,
                    stats.depth,
                )
            )
        if stats.aliases > limits.max_aliases:
            errors.append(
                _refusal(
                    f"Operation {name!r} uses {stats.aliases} aliases (fragments included); "
                    f"the limit is {limits.max_aliases}",
                    ErrorCode.TOO_MANY_ALIASES,
                    operation,
                    limits.max_aliases,
                    stats.aliases,
                )
            )
        if stats.cost > limits.max_complexity:
            errors.append(
                _refusal(
                    f"Operation {name!r} has an estimated complexity of {stats.cost}; the limit is "
                    f"{limits.max_complexity} (ask for fewer fields or smaller pages)",
                    ErrorCode.QUERY_TOO_COMPLEX,
                    operation,
                    limits.max_complexity,
                    stats.cost,
                )
            )
    return errors + analyser.page_errors


def _refusal(message: str, code: ErrorCode, node: OperationDefinitionNode, limit: int, actual: int) -> GraphQLError:
    return GraphQLError(message, nodes=[node], extensions={"code": code.value, "limit": limit, "actual": actual})
