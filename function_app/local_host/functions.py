"""The app's functions, listed once: the library lets `get_functions()` run only once per app
(the Functions host calls it once, at indexing)."""

from __future__ import annotations

import functools

from azure.functions.decorators.function_app import Function


@functools.cache
def app_functions() -> tuple[Function, ...]:
    from ..api.app import app

    return tuple(app.get_functions())


def function_named(name: str) -> Function:
    return next(f for f in app_functions() if f.get_function_name() == name)
