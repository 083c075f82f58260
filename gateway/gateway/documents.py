"""Parse and validate each query text once, not on every request; apply the limits on every request.

Portals send the same few query texts again and again, and graphql-core's parse and validation cost a few
milliseconds each for the family page. The document a text parses to never changes, and neither do the errors
of the rules that read only the document (graphql-core's specified rules, strawberry's own, the introspection
ban), so both are kept per text in small LRU caches. The limits read the variables too (`first: $n`), so they are
measured on every request (`gateway.limits`) and never cached.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Callable, Iterator
from functools import lru_cache

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, parse, validate
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from gateway.limits import QueryLimits, limit_errors

MAX_VALIDATION_ERRORS = 100
"""graphql-core's default: validation stops at this many errors."""

Rules = tuple[type[ASTValidationRule], ...]


class DocumentCache:
    """The parsed documents and document-only validation errors of the latest `maxsize` query texts."""

    def __init__(self, maxsize: int = 256) -> None:
        self.maxsize = maxsize
        self.parse: Callable[..., DocumentNode] = lru_cache(maxsize=maxsize)(parse)
        self._errors: OrderedDict[tuple[str, Rules, int], list[GraphQLError]] = OrderedDict()

    def errors(
        self, schema: GraphQLSchema, query: str, document: DocumentNode, rules: Rules, max_errors: int
    ) -> list[GraphQLError]:
        """The errors of `document` (parsed from `query`) under `rules`, stopping after `max_errors`; one cache
        serves one schema."""
        key = (query, rules, max_errors)
        found = self._errors.get(key)
        if found is None:
            found = validate(schema, document, rules, max_errors=max_errors)
            self._errors[key] = found
            if len(self._errors) > self.maxsize:
                self._errors.popitem(last=False)
        else:
            self._errors.move_to_end(key)
        return list(found)


class DocumentExtension(SchemaExtension):
    """Parses through the cache, and validates as one graphql-core `validate` with the limits rule first would:
    limit errors lead, then the document-only errors, and the whole stops at `MAX_VALIDATION_ERRORS`."""

    def __init__(self, limits: QueryLimits, cache: DocumentCache) -> None:
        self.limits = limits
        self.cache = cache

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        # A text that does not parse is left to strawberry's own parse, which reports it as it always has.
        with contextlib.suppress(Exception):
            ctx.graphql_document = self.cache.parse(ctx.query, **ctx.parse_options)
        yield

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        # parsed from a query text just before
        assert ctx.graphql_document is not None
        assert ctx.query is not None
        errors = limit_errors(ctx.graphql_document, self.limits, ctx.variables, ctx.schema._schema)
        if len(errors) > MAX_VALIDATION_ERRORS:
            raise ValidationAbortedError("Too many validation errors, error limit reached. Validation aborted.")
        rules = (*ctx.validation_rules, MaybeNullValidationRule, OneOfInputValidationRule)
        errors += self.cache.errors(
            ctx.schema._schema, ctx.query, ctx.graphql_document, rules, MAX_VALIDATION_ERRORS - len(errors)
        )
        ctx.pre_execution_errors = errors
        yield
