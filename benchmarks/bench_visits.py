"""What visits cost to write and to query: a simulated day of cameras, on the local folder (SQLite index) and on
Azurite (Table Storage index).

    python -m benchmarks.bench_visits [--visits 50000] [--cameras 10] [--backends local azurite] [--data DIR]

For each backend:
  writes     every visit written through VisitStore.save with a real face crop as its snapshot, one thread per
             camera (each camera's visits in time order, the cameras interleaved as they are live): storage
             writes and milliseconds per save;
  lifecycle  a sample of visits saved as the frame path saves them (opened with a snapshot, named, updated now
             and then, closed): writes and milliseconds per visit;
  queries    GET /api/visits over real HTTP (`python -m function_app serve`): the first page of the day, a
             person, a camera, a time range, Unknown visitors, a person seen once late in the day, and every
             page of the day and of a camera to the end: milliseconds per page (median and slowest).
The baseline, from the same run: listing the names of the day's blobs (what a query without an index would
have to do before reading a single record); each query's page is printed as a ratio against it.
Target: under 1 s a page.
"""

from __future__ import annotations

import argparse
import functools
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from benchmarks.bench_pipeline import DEFAULT_DATA
from function_app.clock import iso
from function_app.models import UNKNOWN
from function_app.settings import Settings
from function_app.storage import create_storage
from function_app.storage.layout import VISITS_CONTAINER
from function_app.visits.index import create_visit_index
from function_app.visits.records import VisitRecord, new_visit_id
from function_app.visits.store import VisitStore
from tests.support import azurite
from tests.support.images import face_crop_jpeg
from tests.support.service import start_server, stop_server

KEY = "benchmark-key"
DAY = datetime(2026, 11, 26, tzinfo=UTC)
PEOPLE = 300  # enrolled people who come and go
UNKNOWN_SHARE = 0.35


class CountingStorage:
    """The app's storage, counting the blob writes and deletes that go through it."""

    def __init__(self, storage: Any):
        self._storage = storage
        self.writes = 0
        self._lock = threading.Lock()

    def put_blob(self, *args: Any, **kwargs: Any) -> str:
        with self._lock:
            self.writes += 1
        return self._storage.put_blob(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)


class CountingIndex:
    def __init__(self, index: Any):
        self._index = index
        self.writes = 0
        self._lock = threading.Lock()

    def upsert(self, record: VisitRecord) -> None:
        with self._lock:
            self.writes += 1
        self._index.upsert(record)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._index, name)


@dataclass
class Row:
    backend: str
    what: str
    values: dict[str, str] = field(default_factory=dict)


def simulated_day(visits: int, cameras: int, rng: random.Random) -> dict[str, list[VisitRecord]]:
    """`visits` visits over the day, spread evenly over the cameras; each camera's in time order."""
    people = [f"00000000-0000-4000-8000-{n:012d}" for n in range(PEOPLE)]
    by_camera: dict[str, list[VisitRecord]] = {}
    for c in range(cameras):
        camera = f"cam{c:02d}"
        moments = sorted(rng.randrange(86_300_000) for _ in range(visits // cameras))
        records = []
        for ms in moments:
            first = DAY + timedelta(milliseconds=ms)
            person = None if rng.random() < UNKNOWN_SHARE else rng.choice(people)
            records.append(
                VisitRecord(
                    visit_id=new_visit_id(first),
                    camera=camera,
                    location=f"{camera} entrance",
                    person_group_id="staff",
                    person_id=person,
                    name=f"person {person[-4:]}" if person else UNKNOWN,
                    confidence=rng.uniform(0.6, 0.99) if person else 0.0,
                    first_seen=first,
                    last_seen=first + timedelta(seconds=rng.randrange(5, 120)),
                    frames=rng.randrange(5, 400),
                    closed=True,
                    snapshot=None,
                )
            )
        by_camera[camera] = records
    return by_camera


def timed_ms(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start) * 1000.0, result


def write_day(store: VisitStore, by_camera: dict[str, list[VisitRecord]], snapshot: bytes) -> tuple[list[float], float]:
    """Every visit saved once with its snapshot, one thread per camera: (ms of each save, seconds in all)."""
    times: list[float] = []
    lock = threading.Lock()

    def camera(records: list[VisitRecord]) -> None:
        mine = [timed_ms(functools.partial(store.save, record, snapshot))[0] for record in records]
        with lock:
            times.extend(mine)

    threads = [threading.Thread(target=camera, args=(records,)) for records in by_camera.values()]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times, time.perf_counter() - start


def lifecycle(store: VisitStore, counted: tuple[CountingStorage, CountingIndex], sample: int, snapshot: bytes) -> str:
    """`sample` visits saved as the frame path saves them: opened with a snapshot, named, 3 updates, closed."""
    storage, index = counted
    before = storage.writes + index.writes
    start = time.perf_counter()
    saves = 0
    for n in range(sample):
        first = DAY + timedelta(hours=23, minutes=59, seconds=59, milliseconds=n)
        record = VisitRecord(
            new_visit_id(first), "life", "life", "staff", None, UNKNOWN, 0.0, first, first, 1, False, None
        )
        record = store.save(record, snapshot)
        record = store.save(replace(record, person_id="00000000-0000-4000-8000-000000000001", name="x", confidence=0.9))
        for update in range(3):
            record = store.save(replace(record, frames=record.frames + 10 * (update + 1)))
        store.save(replace(record, closed=True))
        saves += 6
    seconds = time.perf_counter() - start
    writes = storage.writes + index.writes - before
    return (
        f"{saves / sample:.0f} saves, {writes / sample:.0f} writes "
        f"({writes / saves:.2f} a save), {seconds * 1000 / sample:.1f} ms a visit"
    )


class Api:
    def __init__(self, url: str):
        self.session = requests.Session()
        self.session.headers["Ocp-Apim-Subscription-Key"] = KEY
        self.url = url

    def page(self, **params: str) -> dict[str, Any]:
        answer = self.session.get(f"{self.url}/api/visits", params=params, timeout=120)
        answer.raise_for_status()
        return answer.json()

    def pages(self, **params: str) -> Iterator[tuple[float, dict[str, Any]]]:
        """Every page of a query, with the milliseconds each took."""
        query = dict(params)
        while True:
            ms, page = timed_ms(lambda: self.page(**query))
            yield ms, page
            if page["continuationToken"] is None:
                return
            query["continuationToken"] = page["continuationToken"]


def query_rows(api: Api, by_camera: dict[str, list[VisitRecord]], rare: VisitRecord, repeat: int) -> list[dict]:
    everyone = [r for records in by_camera.values() for r in records]
    person = next(r.person_id for r in everyone if r.person_id)
    day = DAY.strftime("%Y%m%d")
    window = {"start": iso(DAY + timedelta(hours=14)), "end": iso(DAY + timedelta(hours=15))}
    first_pages = {
        "first page of the day (top 100)": {"day": day},
        "a person (top 100)": {"day": day, "personId": person or ""},
        "a camera (top 100)": {"day": day, "cameraId": "cam03"},
        "one hour, 14:00-15:00 (top 100)": {"day": day, **window},
        "Unknown visitors (top 100)": {"day": day, "unknown": "true"},
        "a person seen once, at 23:59 (top 100)": {"day": day, "personId": rare.person_id or ""},
    }
    rows = []
    for what, params in first_pages.items():
        api.page(**params)  # warm: connections, the server's clients
        times = [timed_ms(functools.partial(api.page, **params))[0] for _ in range(repeat)]
        rows.append({"what": what, "pages": 1, "visits": len(api.page(**params)["visits"]), "times": times})
    for what, params in {
        "every page of the day (top 1000)": {"day": day, "top": "1000"},
        "every page of a camera (top 100)": {"day": day, "cameraId": "cam07", "top": "100"},
    }.items():
        times, seen = [], 0
        for ms, page in api.pages(**params):
            times.append(ms)
            seen += len(page["visits"])
        rows.append({"what": what, "pages": len(times), "visits": seen, "times": times})
    return rows


def run_backend(
    backend: str, env: dict[str, str], folder: Path, args: argparse.Namespace, snapshot: bytes
) -> tuple[list[str], list[str]]:
    settings = Settings.from_env(env)
    storage, index = CountingStorage(create_storage(settings)), CountingIndex(create_visit_index(settings))
    store = VisitStore(storage, index)  # the counting proxies pass every call on
    by_camera = simulated_day(args.visits, args.cameras, random.Random(2026))
    times, seconds = write_day(store, by_camera, snapshot)
    writes = storage.writes + index.writes
    rare_first = DAY + timedelta(hours=23, minutes=59, seconds=30)
    rare = replace(
        by_camera["cam00"][-1],
        visit_id=new_visit_id(rare_first),
        first_seen=rare_first,
        last_seen=rare_first,
        person_id="00000000-0000-4000-8000-999999999999",
    )
    store.save(rare)
    saved = len(times) + 1
    write_line = (
        f"| {backend} | {saved} | {writes / len(times):.2f} | {statistics.median(times):.2f} "
        f"({sorted(times)[int(len(times) * 0.9)]:.2f}) | {saved / seconds:.0f} |"
    )
    life = lifecycle(store, (storage, index), args.lifecycle, snapshot)

    baseline_ms, names = timed_ms(lambda: sum(1 for _ in storage.list_blobs(VISITS_CONTAINER, DAY.strftime("%Y%m%d/"))))
    process, url = start_server({**env, "FACE_API_KEY": KEY}, folder / "server.log")
    try:
        rows = query_rows(Api(url), by_camera, rare, args.repeat)
    finally:
        stop_server(process)
    query_lines = [
        f"| {backend} | listing the day's {names} blob names (baseline) | - | - | {baseline_ms:.0f} | - | 1 |"
    ]
    for row in rows:
        median, slowest = statistics.median(row["times"]), max(row["times"])
        query_lines.append(
            f"| {backend} | {row['what']} | {row['pages']} | {row['visits']} | {median:.1f} | {slowest:.1f} "
            f"| {baseline_ms / median:.0f}x |"
        )
    return [write_line, f"| {backend} | {life} |"], query_lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=50_000)
    parser.add_argument("--cameras", type=int, default=10)
    parser.add_argument("--lifecycle", type=int, default=200, help="visits saved as the frame path saves them")
    parser.add_argument("--repeat", type=int, default=5, help="times each first page is asked")
    parser.add_argument("--backends", nargs="+", default=["local", "azurite"], choices=["local", "azurite"])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    snapshot = face_crop_jpeg(args.data / "people_lfw/hugo_chavez/1.jpg")
    writes, queries = [], []
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        for backend in args.backends:
            if backend == "local":
                w, q = run_backend(
                    backend, {"STORAGE_BACKEND": "local", "STORAGE_DIR": str(folder / "data")}, folder, args, snapshot
                )
            else:
                (folder / "azurite").mkdir()
                process, connection = azurite.start_azurite(folder / "azurite")
                try:
                    env = {"STORAGE_BACKEND": "azure", "AZURE_STORAGE_CONNECTION_STRING": connection}
                    w, q = run_backend(backend, env, folder, args, snapshot)
                finally:
                    azurite.stop_azurite(process)
            writes += w[:1]
            queries += q
            print(f"{backend}: lifecycle of a visit: {w[1]}", flush=True)
    print(
        f"\n{args.visits} visits on {args.cameras} cameras in one day, each saved once with a "
        f"{len(snapshot)}-byte face crop, one thread per camera\n"
    )
    print("| backend | saves | writes a save | ms a save, median (p90) | saves a second |")
    print("|---|---|---|---|---|")
    print("\n".join(writes))
    print("\nGET /api/visits over HTTP; ms a page; ratio: the baseline's ms / the page's median ms\n")
    print("| backend | query | pages | visits | ms a page, median | slowest | baseline / page |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(queries))


if __name__ == "__main__":
    main()
