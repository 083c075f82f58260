"""The GraphQL schema: queries and mutations over the three services, with limits and error masking.

Resolvers call only the request's DataLoaders (reads, `gateway.query`) or one service call (mutations,
`gateway.mutation`). The SDL of this schema is committed in `schema.graphql`; `python -m gateway.schema_check`
compares the two.
"""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from strawberry.extensions import DisableIntrospection, MaxTokensLimiter, SchemaExtension

from gateway.config import Settings
from gateway.documents import DocumentCache, DocumentExtension
from gateway.execution import LeanExecutor
from gateway.limits import QueryLimits
from gateway.masking import GatewaySchema, MaskUnexpectedErrors
from gateway.mutation import Mutation
from gateway.query import DEFAULT_FIRST, Query

__all__ = ["DEFAULT_FIRST", "Mutation", "Query", "build_schema", "schema"]


def build_schema(settings: Settings) -> strawberry.Schema:
    limits = QueryLimits(
        max_depth=settings.max_depth,
        max_aliases=settings.max_aliases,
        max_complexity=settings.max_complexity,
        max_page_size=settings.max_page_size,
        default_page_size=DEFAULT_FIRST,
    )
    documents = DocumentCache()
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: DocumentExtension(limits, documents),
        lambda: MaskUnexpectedErrors(hide_suggestions=not settings.is_development),
    ]
    if not settings.is_development:
        extensions.append(DisableIntrospection)
    return GatewaySchema(query=Query, mutation=Mutation, extensions=extensions, execution_context_class=LeanExecutor)


schema = strawberry.Schema(query=Query, mutation=Mutation)
"""The schema without per-deployment extensions, for printing the SDL."""
