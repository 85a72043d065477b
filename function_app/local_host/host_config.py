"""The parts of host.json the local host honours, read the way the Functions host reads them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

HOST_JSON = Path(__file__).resolve().parents[2] / "host.json"


def _seconds(timespan: str) -> float:
    """'00:00:30' (hh:mm:ss, as host.json writes time spans) in seconds."""
    hours, minutes, seconds = timespan.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


@dataclass(frozen=True)
class HostConfig:
    route_prefix: str = "api"
    max_dequeue_count: int = 5
    visibility_timeout: float = 0.0  # seconds before a failed message is tried again
    batch_size: int = 16

    @classmethod
    def load(cls, path: Path = HOST_JSON) -> HostConfig:
        extensions = json.loads(path.read_text()).get("extensions", {})
        queues = extensions.get("queues", {})
        return cls(
            route_prefix=extensions.get("http", {}).get("routePrefix", "api").strip("/"),
            max_dequeue_count=int(queues.get("maxDequeueCount", 5)),
            visibility_timeout=_seconds(queues.get("visibilityTimeout", "00:00:00")),
            batch_size=int(queues.get("batchSize", 16)),
        )
