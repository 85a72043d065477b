"""What a run measured: capture and send rates, latency."""

from __future__ import annotations

import statistics
import time
from collections import deque
from dataclasses import dataclass


class RateMeter:
    """Events per second over the last `window` seconds."""

    def __init__(self, window: float = 2.0):
        self.window = window
        self._times: deque[float] = deque()

    def tick(self, now: float | None = None) -> None:
        self._times.append(time.monotonic() if now is None else now)

    def rate(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        while self._times and self._times[0] < now - self.window:
            self._times.popleft()
        return len(self._times) / self.window


@dataclass(frozen=True)
class RunStats:
    seconds: float
    frames_captured: int
    frames_shown: int
    frames_sent: int
    answers: int
    failures: int  # frames the backend did not answer (unavailable, refused)
    reopens: int  # times the camera or stream was opened again
    latencies_ms: tuple[float, ...]
    frames_recorded: int = 0  # frames in the recording, repeated ones included
    frames_repeated: int = 0  # written again in the place of frames lost before the recorder, to keep time

    @property
    def capture_fps(self) -> float:
        return self.frames_captured / self.seconds if self.seconds else 0.0

    @property
    def answered_fps(self) -> float:
        return self.answers / self.seconds if self.seconds else 0.0

    def latency_ms(self, quantile: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[round(quantile * 100) - 1]

    def summary(self) -> str:
        latency = (
            f"latency median {self.latency_ms(0.5):.0f} ms, p90 {self.latency_ms(0.9):.0f} ms"
            if self.latencies_ms
            else "no latency: nothing was answered"
        )
        recorded = (
            f"recorded {self.frames_recorded} ({self.frames_repeated} repeated to keep time), "
            if self.frames_recorded
            else ""
        )
        return (
            f"{self.seconds:.1f} s: captured {self.frames_captured} frames ({self.capture_fps:.1f} fps), "
            f"shown {self.frames_shown}, {recorded}sent {self.frames_sent}, answered {self.answers} "
            f"({self.answered_fps:.1f} fps), failed {self.failures}, "
            f"reopened the source {self.reopens} times; {latency}"
        )
