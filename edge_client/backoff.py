"""Exponential backoff, capped: how long to wait before trying again after each failure in a row."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Backoff:
    initial: float = 0.5  # seconds after the first failure
    maximum: float = 8.0  # never longer than this
    factor: float = 2.0
    failures: int = 0  # failures in a row so far

    def next_delay(self) -> float:
        """Count one more failure and answer the wait before the next try: initial, ×factor each time, capped."""
        delay = min(self.maximum, self.initial * self.factor**self.failures)
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0
