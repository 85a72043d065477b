"""What per-frame records (FRAME_RECORDS=on) cost: the blobs written, and the sightings query over a day.

    python -m benchmarks.bench_sightings [--frames 600] [--lines 100000] [--old-blobs 1000]

On a local folder and on an Azurite started here (both in a temporary folder), in one run:
  writes   one camera at 10 frames a second for `--frames` frames (2 faces each): the layout before this
           change (one blob per frame, `sightings/<day>/mydata-...json`) against the JSON lines of now
           (`write_sighting`: one append blob per camera per UTC hour). Blobs written, extrapolated to an
           hour, and milliseconds a frame.
  query    a day of one camera, `--lines` lines spread over its 24 hours: `GET /api/sightings`'s core
           (`query_sightings`) for the first page, a person's first page, and every page of the day at
           top=1000; the same for a busy hour of one camera (10 frames/s: 36,000 lines in one blob); against
           the query before this change, which read every blob of the day (timed on `--old-blobs` per-frame
           blobs, per frame).
Prints a table per part, with ratios against the layout before.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from function_app.errors import StorageUnavailable
from function_app.features.sightings import (
    MAX_PART_BYTES,
    SORTED_LINES,
    SightedFace,
    SightingRecord,
    query_sightings,
    write_sighting,
)
from function_app.storage import Storage
from function_app.storage.azure_storage import AzureStorage
from function_app.storage.layout import SIGHTINGS_CONTAINER
from function_app.storage.local_folder import LocalFolderStorage
from tests.support import azurite

FRAME_RATE = 10.0
PERSONS = [str(uuid.UUID(int=n)) for n in range(1, 6)]
BLOCK = 4 * 1024 * 1024  # bytes an Append Block takes at most (older service versions): the day is written in these


def a_frame(camera: str, moment: datetime, n: int) -> SightingRecord:
    """A frame as the service writes it: two faces, one named (one of five persons), one Unknown."""
    named = SightedFace({"top": 120, "left": 200, "width": 80, "height": 80}, PERSONS[n % 5], "person", 0.91, "high")
    unknown = SightedFace({"top": 140, "left": 420, "width": 60, "height": 60}, None, "Unknown", 0.0, "medium")
    return SightingRecord(camera, "family", moment, 640, 480, [named, unknown], location="hall")


def write_before(storage: Storage, record: SightingRecord) -> None:
    """The layout before JSON lines: one blob per frame, named as the prototype named its files."""
    name = f"{record.moment:%Y%m%d}/mydata-{record.moment:%Y%m%d_%H%M%S}-{uuid.uuid4().hex[:12]}.json"
    storage.put_blob(SIGHTINGS_CONTAINER, name, json.dumps(record.to_dict()).encode(), only_if_new=True)


def query_before(storage: Storage, day: str) -> int:
    """The query before JSON lines, in the part that costs: every blob of the day listed and read."""
    rows = 0
    for info in storage.list_blobs(SIGHTINGS_CONTAINER, f"{day}/"):
        if info.name.endswith(".json"):
            rows += len(json.loads(storage.get_blob(SIGHTINGS_CONTAINER, info.name).data)["faces"])
    return rows


def blobs_of_day(storage: Storage, day: str) -> int:
    return sum(1 for _ in storage.list_blobs(SIGHTINGS_CONTAINER, f"{day}/"))


@dataclass(frozen=True)
class Writes:
    blobs_before: int
    blobs_after: int
    bytes_after: int
    ms_before: float
    ms_after: float


def measure_writes(storage: Storage, frames: int, day: datetime) -> Writes:
    """`frames` frames of one camera at FRAME_RATE, written both ways, each on a day of its own."""
    moments = [day + timedelta(seconds=n / FRAME_RATE) for n in range(frames)]
    before_day, after_day = day, day + timedelta(days=1)
    before = [timed_ms(write_before, storage, a_frame("door", m, n)) for n, m in enumerate(moments)]
    after = [
        timed_ms(write_sighting, storage, a_frame("door", m + timedelta(days=1), n)) for n, m in enumerate(moments)
    ]
    after_blobs = list(storage.list_blobs(SIGHTINGS_CONTAINER, f"{after_day:%Y%m%d}/"))
    return Writes(
        blobs_of_day(storage, f"{before_day:%Y%m%d}"),
        len(after_blobs),
        sum(b.size for b in after_blobs),
        statistics.median(before),
        statistics.median(after),
    )


def write_lines(storage: Storage, camera: str, start: datetime, span: timedelta, lines: int) -> None:
    """`lines` frames of one camera spread evenly over `span`, appended in blocks (as many frames append them)."""
    step = span / lines
    chunks: dict[str, list[bytes]] = {}
    for n in range(lines):
        record = a_frame(camera, start + n * step, n)
        line = json.dumps(record.to_dict(), separators=(",", ":")).encode() + b"\n"
        chunks.setdefault(f"{record.hour_blob}.jsonl", []).append(line)
    for blob, hour_lines in chunks.items():
        block = b""
        for line in hour_lines:
            if len(block) + len(line) > BLOCK:
                storage.append_blob(SIGHTINGS_CONTAINER, blob, block)
                block = b""
            block += line
        storage.append_blob(SIGHTINGS_CONTAINER, blob, block)


@dataclass(frozen=True)
class Paging:
    first_page_ms: float  # the hour blob read (and sorted) by this page
    warm_page_ms: float  # the same page again: the hour found as the first page left it
    person_page_ms: float  # read again too
    all_pages_ms: float  # each hour read by the first of its pages
    pages: int


def measure_query(storage: Storage, lines: int, start: datetime, span: timedelta) -> Paging:
    """`lines` lines of a new camera over `span` from `start`, then its first page, a person's first page, and
    every page at top=1000."""
    camera = f"cam-{uuid.uuid4().hex[:6]}"
    write_lines(storage, camera, start, span, lines)
    day = f"{start:%Y%m%d}"
    SORTED_LINES.clear()
    first = timed_ms(lambda: query_sightings(storage, day=day, camera=camera))
    warm = timed_ms(lambda: query_sightings(storage, day=day, camera=camera))
    SORTED_LINES.clear()
    person = timed_ms(lambda: query_sightings(storage, day=day, camera=camera, person_id=PERSONS[2]))
    SORTED_LINES.clear()
    pages, rows, token = 0, 0, None
    started = time.perf_counter()
    while True:
        page = query_sightings(storage, day=day, camera=camera, top=1000, continuation_token=token)
        pages, rows, token = pages + 1, rows + len(page.sightings), page.continuation_token
        if not token:
            break
    all_pages = (time.perf_counter() - started) * 1000.0
    assert rows == 2 * lines, (rows, lines)
    return Paging(first, warm, person, all_pages, pages)


def measure_query_before(storage: Storage, blobs: int, day: datetime) -> float:
    """Milliseconds a frame record of the query before (which read every blob of the day), on `blobs` blobs."""
    for n in range(blobs):
        write_before(storage, a_frame("door", day + timedelta(seconds=n / FRAME_RATE), n))
    rows: list[int] = []
    elapsed = timed_ms(lambda: rows.append(query_before(storage, f"{day:%Y%m%d}")))
    assert rows == [2 * blobs]
    return elapsed / blobs


def timed_ms(fn: Callable[..., object], *args: object) -> float:
    start = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - start) * 1000.0


def print_writes(results: dict[str, Writes], frames: int) -> None:
    per_hour = 3600 * FRAME_RATE / frames  # the frames written are this fraction of an hour's
    hours = math.ceil(frames / FRAME_RATE / 3600)  # the hour blobs they were written in
    print(
        f"\nWrites: one camera at {FRAME_RATE:.0f} frames/s, 2 faces a frame ({frames} frames, extrapolated to an hour)"
    )
    print("| storage | blobs an hour before | blobs an hour now | ratio | ms a frame before | ms a frame now | ratio |")
    print("|---|---|---|---|---|---|---|")
    for backend, w in results.items():
        # An hour's lines fill a part of MAX_PART_BYTES after another.
        before, now = (
            w.blobs_before * per_hour,
            max(w.blobs_after / hours, math.ceil(w.bytes_after * per_hour / MAX_PART_BYTES)),
        )
        print(
            f"| {backend} | {before:,.0f} | {now:.0f} | {before / now:,.0f}× fewer "
            f"| {w.ms_before:.2f} | {w.ms_after:.2f} | {w.ms_after / w.ms_before:.2f} |"
        )


def print_query(
    days: dict[str, Paging], hours: dict[str, Paging], before: dict[str, float], lines: int, busy: int
) -> None:
    print(
        f"\nQuery (query_sightings, one camera): a day of {lines:,} lines over 24 hour blobs; a busy hour of {busy:,}"
    )
    print("lines in one blob (36,000: 10 frames/s). 2 faces a line. Before: the query that read every blob of the day.")
    print(
        "| storage | lines | first page (top=100) ms | again (hour kept) ms | a person's first page ms "
        "| every page at top=1000: pages, s, ms a page | before: ms a frame | before, all (estimated) s | ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for backend in days:
        for what, count, q in (("a day", lines, days[backend]), ("a busy hour", busy, hours[backend])):
            estimated = before[backend] * count / 1000.0
            print(
                f"| {backend} | {what}: {count:,} | {q.first_page_ms:.0f} | {q.warm_page_ms:.0f} "
                f"| {q.person_page_ms:.0f} "
                f"| {q.pages}, {q.all_pages_ms / 1000:.1f}, {q.all_pages_ms / q.pages:.0f} | {before[backend]:.2f} "
                f"| {estimated:.0f} | {estimated * 1000 / q.all_pages_ms:.0f}× faster |"
            )


def measure_block_reads(storage: Storage, counts: list[int]) -> dict[int, float | None]:
    """Seconds to read one blob grown to each of `counts` appends of one line (as frames append them), None when
    the read failed. Appends from 16 threads, as many frames would."""
    container, appended = f"blocks{uuid.uuid4().hex[:12]}", 0
    seconds: dict[int, float | None] = {}
    with ThreadPoolExecutor(16) as pool:
        for count in sorted(counts):
            list(pool.map(lambda _: storage.append_blob(container, "h.jsonl", b"{}\n"), range(count - appended)))
            appended = count
            started = time.perf_counter()
            try:
                lines = storage.get_blob(container, "h.jsonl").data.count(b"\n")
            except StorageUnavailable:  # Azurite answers 500
                seconds[count] = None
                continue
            assert lines == count, (lines, count)
            seconds[count] = time.perf_counter() - started
    return seconds


def print_block_reads(backend: str, seconds: dict[int, float | None]) -> None:
    print(f"\nReading an append blob of one-line appends ({backend})")
    print("| appends | read s |")
    print("|---|---|")
    for count, took in seconds.items():
        print(f"| {count:,} | {'failed' if took is None else f'{took:.2f}'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=600, help="frames written each way (600: a minute at 10/s)")
    parser.add_argument("--lines", type=int, default=100_000, help="lines of the day queried")
    parser.add_argument("--old-blobs", type=int, default=1000, help="per-frame blobs the query before is timed on")
    parser.add_argument(
        "--busy-hour", type=float, default=1.0, help="the busy hour's share of 10 frames/s (tests: less)"
    )
    parser.add_argument(
        "--blocks",
        default="",
        help="also read an Azurite append blob grown to these appends, comma-separated (e.g. 2000,16000,50000; slow)",
    )
    args = parser.parse_args()
    day = datetime(2026, 1, 5, tzinfo=UTC)
    busy = int(3600 * FRAME_RATE * args.busy_hour)
    writes: dict[str, Writes] = {}
    days: dict[str, Paging] = {}
    hours: dict[str, Paging] = {}
    before: dict[str, float] = {}
    blocks: dict[int, float | None] = {}
    with tempfile.TemporaryDirectory() as folder:
        process, connection = azurite.start_azurite(Path(folder))
        try:
            backends: dict[str, Storage] = {
                "local folder": LocalFolderStorage(Path(folder) / "data"),
                "Azurite": AzureStorage(connection),
            }
            for backend, storage in backends.items():
                writes[backend] = measure_writes(storage, args.frames, day)
                days[backend] = measure_query(storage, args.lines, day + timedelta(days=30), timedelta(days=1))
                hours[backend] = measure_query(storage, busy, day + timedelta(days=40), timedelta(hours=1))
                before[backend] = measure_query_before(storage, args.old_blobs, day + timedelta(days=20))
            if args.blocks:
                blocks = measure_block_reads(backends["Azurite"], [int(n) for n in args.blocks.split(",")])
        finally:
            azurite.stop_azurite(process)
    print_writes(writes, args.frames)
    print_query(days, hours, before, args.lines, busy)
    if args.blocks:
        print_block_reads("Azurite", blocks)


if __name__ == "__main__":
    main()
