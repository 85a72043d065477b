"""The event log: each event a JSON line in the append blob of its UTC hour, `events/<YYYYMMDD>/<HH>.jsonl`,
read from a cursor (the hour and a byte offset in it), so that a client that polls with the cursor it was
last given reads only what is new, in the order it was written. Each event is also queued on `visit-events`
for delivery (webhooks), a frame's events in one message, so that the frame that made them waits for neither."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .. import metrics
from ..clock import utc_now
from ..errors import BadArgument
from ..storage import AppendBlobFull, BlobNotFound, Storage
from ..storage.layout import EVENTS_CONTAINER, EVENTS_QUEUE
from ..storage.messages import parse_message
from .records import VisitEvent

log = logging.getLogger(__name__)
CURSOR = re.compile(r"^(\d{8})(\d{2})-(\d{1,12})$")  # <YYYYMMDD><HH>-<offset>
HOUR_BLOB = re.compile(r"^\d{8}/\d{2}\.jsonl$")
MAX_LOOK_BACK_DAYS = 400  # a cursor older than this starts at the oldest day still read
EVENTS_A_MESSAGE = 40  # ~600 bytes each: well within a queue message's 64 KB


@dataclass(frozen=True)
class EventsPage:
    events: list[VisitEvent]
    next: str  # the cursor to read what comes after these

    def to_dict(self) -> dict[str, Any]:
        return {"events": [event.to_dict() for event in self.events], "next": self.next}


@dataclass(frozen=True, order=True)
class Cursor:
    day: str  # YYYYMMDD
    hour: str  # HH
    offset: int

    @property
    def blob(self) -> str:
        return f"{self.day}/{self.hour}.jsonl"

    def __str__(self) -> str:
        return f"{self.day}{self.hour}-{self.offset}"

    @classmethod
    def parse(cls, text: str) -> Cursor:
        match = CURSOR.match(text)
        if match is None:
            raise BadArgument("'after' is not a cursor this service gave: pass back the 'next' of a previous answer.")
        return cls(match[1], match[2], int(match[3]))

    @classmethod
    def start_of(cls, moment: datetime) -> Cursor:
        return cls(moment.strftime("%Y%m%d"), "00", 0)


def hour_blob(moment: datetime) -> str:
    return moment.strftime("%Y%m%d/%H.jsonl")


def publish(storage: Storage, events: list[VisitEvent]) -> None:
    """Log the events (one append: a frame's events stay together and in order), then queue each."""
    if not events:
        return
    lines = [json.dumps(event.to_dict(), separators=(",", ":"), ensure_ascii=False) for event in events]
    try:
        storage.append_blob(EVENTS_CONTAINER, hour_blob(utc_now()), ("\n".join(lines) + "\n").encode())
    except AppendBlobFull:  # 50,000 appends in an hour: the log misses them, deliveries do not
        log.error("The event log of this hour is full; %d events are only delivered, not logged.", len(events))
    for start in range(0, len(events), EVENTS_A_MESSAGE):  # a frame's events in one message: one request
        storage.send_message(
            EVENTS_QUEUE, queued([event.to_dict() for event in events[start : start + EVENTS_A_MESSAGE]])
        )
    for event in events:
        metrics.event_published(event.kind)


def queued(events: list[dict[str, Any]]) -> str:
    """The `visit-events` message of these events (their JSON, as the log and the webhooks have it)."""
    return json.dumps({"events": events}, separators=(",", ":"), ensure_ascii=False)


def unqueued(content: str | bytes) -> list[dict[str, Any]]:
    """The events of a `visit-events` message; BadArgument when it is not one (it can never be handled)."""
    events = parse_message(content).get("events")
    if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
        raise BadArgument("The queue message is not a list of visit events.")
    return events


def read_events(storage: Storage, after: str | None, top: int) -> EventsPage:
    """Up to `top` events written after the cursor (from the start of today's UTC day without one)."""
    now = utc_now()
    cursor = Cursor.parse(after) if after else Cursor.start_of(now)
    events: list[VisitEvent] = []
    for blob in _hour_blobs_from(storage, cursor, now):
        if blob != cursor.blob:
            cursor = Cursor(blob[:8], blob[9:11], 0)
        try:
            data = storage.read_blob_from(EVENTS_CONTAINER, blob, cursor.offset)
        except BlobNotFound:
            continue
        start = 0
        while len(events) < top and (end := data.find(b"\n", start)) != -1:
            event = _parse(data[start:end], blob, cursor.offset + start)
            if event is not None:
                events.append(event)
            start = end + 1
        cursor = Cursor(cursor.day, cursor.hour, cursor.offset + start)
        if len(events) >= top:
            break
    return EventsPage(events, str(cursor))


def _hour_blobs_from(storage: Storage, cursor: Cursor, now: datetime) -> Iterator[str]:
    """The hour blobs at or after the cursor's, in order: its own first, then, listed only when asked for,
    those of its day and the days after, up to today's."""
    yield cursor.blob
    if cursor.blob >= hour_blob(now):  # a client that keeps up: nothing can come after the current hour
        return
    first = datetime.strptime(cursor.day, "%Y%m%d").replace(tzinfo=now.tzinfo)
    day = max(first, now - timedelta(days=MAX_LOOK_BACK_DAYS))
    while day.date() <= now.date():
        names = sorted(info.name for info in storage.list_blobs(EVENTS_CONTAINER, day.strftime("%Y%m%d/")))
        yield from (name for name in names if name > cursor.blob and HOUR_BLOB.match(name))
        day += timedelta(days=1)


def _parse(line: bytes, blob: str, offset: int) -> VisitEvent | None:
    try:
        return VisitEvent.from_dict(json.loads(line))
    except (ValueError, TypeError, KeyError, RecursionError):
        log.warning("The event at byte %d of %s/%s is damaged; left out.", offset, EVENTS_CONTAINER, blob)
        return None
