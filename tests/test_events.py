"""Visit events over real HTTP on the dev video: every visit announced once as started, named and ended, in
that order, and read back from the log by cursor, a page at a time, without a repeat or a gap; the log read
across hours and days on the local folder and on Azurite."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests

from function_app.clock import utc_now
from function_app.events.log import Cursor, hour_blob, read_events
from function_app.events.records import ENDED, NAMED, STARTED, VisitEvent, new_event_id
from function_app.storage import Storage
from function_app.storage.azure_storage import AzureStorage
from function_app.storage.layout import EVENTS_CONTAINER
from function_app.storage.local_folder import LocalFolderStorage
from function_app.visits.records import VisitRecord, new_visit_id

from .support.waiting import wait_for
from .test_tracking import AUDIENCE, FRONTAL, KEY, LIN, Server, enrolled_storage, frames  # noqa: F401 (a fixture)

CLOSE_SECONDS = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory, testdata) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("events")
    served = Server(enrolled_storage(folder / "data", testdata, VISIT_CLOSE_SECONDS=str(CLOSE_SECONDS)), folder / "log")
    yield served
    served.stop()


@pytest.fixture(scope="module")
def service(server: Server) -> str:
    return server.url


def get(url: str, path: str, **params: str) -> requests.Response:
    return requests.get(f"{url}{path}", params=params, headers={"Ocp-Apim-Subscription-Key": KEY}, timeout=60)


def all_events(url: str, after: str | None = None, top: int = 1000) -> tuple[list[dict], str]:
    """Every event after the cursor, page by page; the cursor to poll with next."""
    events: list[dict] = []
    while True:
        params = {"top": str(top)} | ({"after": after} if after else {})
        reply = get(url, "/api/events", **params)
        assert reply.status_code == 200, reply.text
        page = reply.json()
        events += page["events"]
        if not page["events"]:
            return events, page["next"]
        after = page["next"]


def test_each_visit_of_the_dev_video_is_started_named_and_ended_once_in_order(server, service, frames):  # noqa: F811
    _, cursor = all_events(service)
    camera = f"hall-{uuid.uuid4().hex[:6]}"
    for i in [*FRONTAL, *AUDIENCE]:
        server.frame(camera, frames[i])
    visits = get(service, "/api/visits", cameraId=camera).json()["visits"]
    assert visits and not any(v["closed"] for v in visits)
    # The camera goes silent: the timer closes its visits after CLOSE_SECONDS.
    wait_for(lambda: all(v["closed"] for v in get(service, "/api/visits", cameraId=camera).json()["visits"]), 60)
    events, _ = all_events(service, cursor)
    by_visit: dict[str, list[dict]] = defaultdict(list)
    for event in events:
        assert event["cameraId"] == camera
        by_visit[event["visitId"]].append(event)
    closed = {v["visitId"]: v for v in get(service, "/api/visits", cameraId=camera).json()["visits"]}
    merged = {e["visitId"] for e in events if e.get("mergedInto")}
    assert set(by_visit) == set(closed) | merged
    for visit_id, seen in by_visit.items():
        assert [e["type"] for e in seen] == [STARTED, NAMED, ENDED], (visit_id, seen)
        assert seen[0]["time"] <= seen[1]["time"] <= seen[2]["time"]
        assert seen[2]["closed"] is True
        if visit_id in closed:
            final = closed[visit_id]
            assert (seen[2]["name"], seen[2]["lastSeen"], seen[2]["frames"]) == (
                final["name"],
                final["lastSeen"],
                final["frames"],
            )
            assert seen[2]["snapshot"] == f"/api/visits/{visit_id}/snapshot"
            assert get(service, seen[2]["snapshot"]).headers["Content-Type"].startswith("image/jpeg")
    names = {seen[1]["name"] for seen in by_visit.values()}
    assert LIN in names and names <= {LIN, "obama", "Unknown"}, names


def test_the_log_is_read_a_page_at_a_time_without_a_repeat_or_a_gap(server, service, frames):  # noqa: F811
    everything, end = all_events(service)
    if len(everything) < 3:  # this module's other test may have run alone: make some events
        camera = f"door-{uuid.uuid4().hex[:6]}"
        for i in FRONTAL[:8]:
            server.frame(camera, frames[i])
        everything, end = all_events(service)
    assert len(everything) >= 3
    one_by_one, last = all_events(service, top=1)
    assert [e["id"] for e in one_by_one] == [e["id"] for e in everything]
    assert len({e["id"] for e in everything}) == len(everything)
    assert last == end
    again = get(service, "/api/events", after=end).json()
    assert again == {"events": [], "next": end}  # polling with nothing new answers nothing, the same cursor


def test_bad_cursors_and_sizes_are_answered_400(service):
    for params in ({"after": "yesterday"}, {"after": "2026112603-x"}, {"top": "0"}, {"top": "1001"}):
        reply = get(service, "/api/events", **params)
        assert (reply.status_code, reply.json()["error"]["code"]) == (400, "BadArgument"), params
    assert requests.get(f"{service}/api/events", timeout=30).status_code == 401


def event(kind: str, visit_id: str) -> VisitEvent:
    now = utc_now()
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # as stored: to the millisecond
    record = VisitRecord(visit_id, "door", "door", "g", None, "Unknown", 0.0, now, now, 3, kind == ENDED, None)
    return VisitEvent(new_event_id(), kind, now, record)


@pytest.fixture(params=["local", "azurite"])
def storage(request, tmp_path) -> Storage:
    if request.param == "local":
        return LocalFolderStorage(tmp_path / "data")
    return AzureStorage(request.getfixturevalue("azurite_connection_string"))


def test_a_cursor_reads_on_across_hours_and_days_in_order(storage):
    """Events written in yesterday's last hours and today's first are read in order from yesterday's cursor;
    a blob of another name in the folder is not read; a damaged line is left out, the rest read."""
    visit_id = new_visit_id(utc_now())
    yesterday = utc_now() - timedelta(days=1)
    blobs = [hour_blob(yesterday.replace(hour=h)) for h in (22, 23)] + [hour_blob(utc_now().replace(hour=0))]
    written = []
    for blob in blobs:
        for kind in (STARTED, NAMED):
            written.append(event(kind, visit_id))
            storage.append_blob(EVENTS_CONTAINER, blob, json.dumps(written[-1].to_dict()).encode() + b"\n")
    storage.append_blob(EVENTS_CONTAINER, blobs[1], b"{not json\n")
    storage.append_blob(EVENTS_CONTAINER, f"{blobs[2][:8]}/notes.txt", b"not an hour blob\n")
    start = str(Cursor.start_of(yesterday))
    page = read_events(storage, start, 100)
    mine = [e for e in page.events if e.visit.visit_id == visit_id]
    assert [e.event_id for e in mine] == [e.event_id for e in written]
    assert mine[0] == written[0]  # the record round-trips whole
    pages, after = [], start
    while (part := read_events(storage, after, 2)).events:
        pages += part.events
        after = part.next
    assert [e.event_id for e in pages] == [e.event_id for e in page.events]
