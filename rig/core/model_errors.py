"""How a file the rig reads (a topology, a load profile, a server's test data) is refused:
every problem pydantic found, each with the field it is in."""

from __future__ import annotations

from pydantic import ValidationError


def describe(exc: ValidationError, source: str) -> str:
    """`source: N problem(s)` and one line per problem: `  - field.path: message`."""
    lines = [f"{source}: {exc.error_count()} problem(s)"]
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"  - {where}: {err['msg']}")
    return "\n".join(lines)
