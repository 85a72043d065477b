"""Waiting for something that happens in another thread or process. The timeouts only bound a failure (a
hang); a slow machine just takes longer, so no test measures speed with them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(check: Callable[[], T | None], timeout: float = 120.0, every: float = 0.05) -> T:
    """The first true answer of `check`; AssertionError if there is none within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s")


def wait_until(condition: Callable[[], bool], timeout: float = 30.0, every: float = 0.02) -> bool:
    """Whether `condition()` came to hold within `timeout` seconds."""
    try:
        return wait_for(condition, timeout, every)
    except AssertionError:
        return False
