"""Reading a sequence of blobs a few at a time, answered in order: a read is mostly waiting on the storage."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


def read_ahead(keys: Iterable[K], read: Callable[[K], V], at_once: int) -> Iterator[tuple[K, V]]:
    """Each key with what `read` answers for it, in the keys' order; at most `at_once` reads under way (so at
    most that many answers held beside the one being used)."""
    with ThreadPoolExecutor(at_once) as pool:
        pending = iter(keys)
        reads = deque((key, pool.submit(read, key)) for key in islice(pending, at_once))
        while reads:
            key, future = reads.popleft()
            following = next(pending, None)
            if following is not None:
                reads.append((following, pool.submit(read, following)))
            yield key, future.result()
