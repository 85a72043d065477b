"""Match a request to the app's HTTP function by route template and method, as the Functions
host does: literal segments without regard to case, `{name}` segments as route parameters."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from azure.functions.decorators.function_app import Function
from azure.functions.decorators.http import HttpTrigger


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    methods: frozenset[str]
    function: Function


@dataclass(frozen=True)
class Match:
    function: Function | None  # None: the path exists, the method does not
    route_params: dict[str, str]


def _compile(template: str, prefix: str) -> re.Pattern[str]:
    parts = [p for p in f"{prefix}/{template}".split("/") if p]
    regex = "".join(_segment(p) for p in parts)
    return re.compile(f"^{regex}/?$", re.IGNORECASE)


def _segment(part: str) -> str:
    """One segment's regex with its leading slash: a literal; `{name}`; `{*name}` (the rest of the path, maybe
    empty); `{name?}` (optional); `{name:maxlength(0)?}` (the host's way to route the site's root)."""
    if not (part.startswith("{") and part.endswith("}")):
        return "/" + re.escape(part)
    inner = part[1:-1]
    if inner.startswith("*"):
        return f"(?:/(?P<{inner[1:]}>.*))?"
    optional = inner.endswith("?")
    name, _, constraint = inner.rstrip("?").partition(":")
    if constraint == "maxlength(0)" and optional:
        return f"(?P<{name}>)"
    if constraint:
        raise ValueError(f"route constraint {constraint!r} is not supported by the local host")
    return f"(?:/(?P<{name}>[^/]+))?" if optional else f"/(?P<{name}>[^/]+)"


class Router:
    def __init__(self, functions: Iterable[Function], route_prefix: str):
        self.routes: list[Route] = []
        for function in functions:
            trigger = function.get_trigger()
            if isinstance(trigger, HttpTrigger):
                methods = frozenset(str(getattr(m, "value", m)).upper() for m in trigger.methods or ())
                if trigger.route is None:  # the decorators set a missing route to the function's name
                    raise ValueError(f"HTTP function {function.get_function_name()} has no route")
                self.routes.append(Route(_compile(trigger.route, route_prefix), methods, function))

    def match(self, method: str, path: str) -> Match | None:
        path_found = None
        for route in self.routes:
            found = route.pattern.match(path)
            if found is None:
                continue
            if method.upper() in route.methods:
                return Match(route.function, {k: v or "" for k, v in found.groupdict().items()})
            path_found = Match(None, {})
        return path_found
