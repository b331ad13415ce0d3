"""A party's route table: method and path pattern to handler; 404 and 405 (with Allow)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote

from rig.core.transport.messages import Fault, HttpError, Request, Response

Handler = Callable[[Request], "Response | Fault"]

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(:path)?\}")


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """`/items/{item_id}` matches one segment; `/files/{rest:path}` the rest of the path."""
    out: list[str] = []
    pos = 0
    for m in _PARAM.finditer(pattern):
        out.append(re.escape(pattern[pos : m.start()]))
        out.append(f"(?P<{m.group(1)}>.*)" if m.group(2) else f"(?P<{m.group(1)}>[^/]+)")
        pos = m.end()
    out.append(re.escape(pattern[pos:]))
    return re.compile("^" + "".join(out) + "$")


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    handler: Handler
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", self.method.upper())
        object.__setattr__(self, "regex", compile_pattern(self.pattern))


class Router:
    """Routes in the order added; HEAD is served by the GET route of the same path. Any
    method a path's routes do not serve (TRACE, QUERY, BREW...) gets 405 with `Allow`."""

    def __init__(self, routes: Iterable[Route] = ()):
        self.routes: list[Route] = list(routes)

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append(Route(method, pattern, handler))

    def table(self) -> list[tuple[str, str]]:
        """(method, pattern) of every route, for checks against an OpenAPI document."""
        return [(r.method, r.pattern) for r in self.routes]

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        allowed: set[str] = set()
        for route in self.routes:
            m = route.regex.match(path)
            if m is None:
                continue
            if route.method == method or (method == "HEAD" and route.method == "GET"):
                return route.handler, {k: unquote(v) for k, v in m.groupdict().items()}
            allowed.add(route.method)
        if allowed:
            if "GET" in allowed:
                allowed.add("HEAD")
            raise HttpError(
                405,
                "method_not_allowed",
                f"{method} is not allowed on {path}",
                headers={"Allow": ", ".join(sorted(allowed))},
            )
        raise HttpError(404, "not_found", f"no resource at {path}")
