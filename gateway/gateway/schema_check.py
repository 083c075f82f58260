"""Compare the code's schema with the committed SDL (`gateway/schema.graphql`).

    python -m gateway.schema_check            # exit 1 on drift or on a breaking change
    python -m gateway.schema_check --write    # rewrite the SDL (after a deliberate, reviewed change)
    python -m gateway.schema_check --against OLD.graphql   # breaking changes against another version

Breaking changes come from graphql-core's `find_breaking_changes`; dangerous ones are listed but do not fail.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from graphql import GraphQLSchema, build_schema, find_breaking_changes, find_dangerous_changes

SDL_PATH = Path(__file__).with_name("schema.graphql")


def current_sdl() -> str:
    from gateway.schema import schema

    return schema.as_str().rstrip() + "\n"


@dataclass(frozen=True)
class SchemaReport:
    drift: bool
    breaking: list[str]
    dangerous: list[str]

    @property
    def ok(self) -> bool:
        return not self.drift and not self.breaking


def compare(old_sdl: str, new_sdl: str) -> SchemaReport:
    old: GraphQLSchema = build_schema(old_sdl)
    new: GraphQLSchema = build_schema(new_sdl)
    return SchemaReport(
        drift=old_sdl.strip() != new_sdl.strip(),
        breaking=[f"{c.type.name}: {c.description}" for c in find_breaking_changes(old, new)],
        dangerous=[f"{c.type.name}: {c.description}" for c in find_dangerous_changes(old, new)],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="rewrite the committed SDL from the code")
    parser.add_argument("--against", type=Path, default=SDL_PATH, help="the previous SDL to compare with")
    args = parser.parse_args(argv)
    sdl = current_sdl()
    if args.write:
        SDL_PATH.write_text(sdl)
        print(f"wrote {SDL_PATH}")
        return 0
    report = compare(args.against.read_text(), sdl)
    for line in report.breaking:
        print(f"BREAKING {line}")
    for line in report.dangerous:
        print(f"dangerous {line}")
    if report.drift:
        print(f"The schema in the code differs from {args.against}; review, then run with --write")
    if report.ok:
        print("schema matches, no breaking changes")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
