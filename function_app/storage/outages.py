"""A storage that cannot be reached, or refuses writes (down, read-only, full), answers
StorageUnavailable (503 with Retry-After), not whatever its backend raised: callers can tell "try again
later" from a bug. Each backend names the errors that mean an outage."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import StorageUnavailable

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def outages_as_unavailable(is_outage: Callable[[BaseException], bool]) -> Callable[[type], type]:
    """A class decorator: every public method of the backend (generators too) raises StorageUnavailable
    where it would raise an error `is_outage` accepts."""

    def wrap(method: F) -> F:
        def unavailable(exc: BaseException) -> StorageUnavailable:
            log.warning("Storage unavailable in %s: %s", method.__name__, exc)
            return StorageUnavailable(f"The storage is unavailable ({type(exc).__name__}); try again later.")

        if inspect.isgeneratorfunction(method):

            @functools.wraps(method)
            def generator(*args: Any, **kwargs: Any) -> Any:
                try:
                    yield from method(*args, **kwargs)
                except Exception as exc:
                    if is_outage(exc):
                        raise unavailable(exc) from exc
                    raise

            return generator  # type: ignore[return-value]

        @functools.wraps(method)
        def function(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except Exception as exc:
                if is_outage(exc):
                    raise unavailable(exc) from exc
                raise

        return function  # type: ignore[return-value]

    def decorate(cls: type) -> type:
        for name, member in list(vars(cls).items()):
            if not name.startswith("_") and inspect.isfunction(member):
                setattr(cls, name, wrap(member))
        return cls

    return decorate
