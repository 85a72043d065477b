"""JSON messages on the storage queues that carry slow work.

The HTTP call queues a message and answers 202 at once; a queue-triggered function does the work.
Failed messages are retried and, after the host's maxDequeueCount, moved to the poison twin of
their queue. Handlers are idempotent: handling a message twice does no harm.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import BadArgument
from .base import Storage


def send_json(storage: Storage, queue: str, payload: dict[str, Any]) -> None:
    storage.send_message(queue, json.dumps(payload, separators=(",", ":")))


def parse_message(content: str | bytes, *required: str) -> dict[str, Any]:
    """A queue message's JSON; a message that can never be handled raises BadArgument."""
    try:
        payload = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        raise BadArgument("The queue message is not JSON.") from None
    if not isinstance(payload, dict) or any(not isinstance(payload.get(k), str) for k in required):
        raise BadArgument(f"The queue message needs the fields {', '.join(required)}.")
    return payload
