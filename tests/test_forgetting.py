"""Deleting a person over HTTP (`python -m function_app serve` as a subprocess) unlinks their visits, found through
each visit index (SQLite in the local folder; Azure Table Storage on a real Azurite): the visit the frame path named
from real frames of a real photo, and one of another day, become Unknown and lose their snapshot; another person's
visit is untouched."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests

from function_app.clock import utc_now
from function_app.settings import Settings
from function_app.storage import create_storage
from function_app.visits.index import create_visit_index
from function_app.visits.store import VisitStore

from .support.images import blank_jpeg, still_camera
from .support.service import start_server, stop_server, visit_index_env
from .support.visit_records import visit
from .support.waiting import wait_for

KEY = f"forget-{uuid.uuid4().hex}"
GROUPS = "/face/v1.0/persongroups"


@pytest.fixture(scope="module", params=["sqlite", "table"])
def service(request, tmp_path_factory) -> Iterator[tuple[str, VisitStore]]:
    folder = tmp_path_factory.mktemp(f"forget-{request.param}")
    env = visit_index_env(request.param, folder, request)
    settings = Settings.from_env(env)
    process, url = start_server({**env, "FACE_API_KEY": KEY}, folder / "server.log")
    yield url, VisitStore(create_storage(settings), create_visit_index(settings))
    stop_server(process)


def call(url: str, method: str, path: str, **kw) -> requests.Response:
    return requests.request(method, f"{url}{path}", headers={"Ocp-Apim-Subscription-Key": KEY}, timeout=120, **kw)


def test_deleting_a_person_unlinks_their_visits(service, testdata):
    url, store = service
    group_id = f"g-{uuid.uuid4().hex[:12]}"
    assert call(url, "PUT", f"{GROUPS}/{group_id}", json={"name": "family"}).status_code == 200
    person = call(url, "POST", f"{GROUPS}/{group_id}/persons", json={"name": "obama"}).json()["personId"]
    photo = (testdata / "people/obama/1.jpg").read_bytes()
    assert call(url, "POST", f"{GROUPS}/{group_id}/persons/{person}/persistedfaces", data=photo).status_code == 200
    assert call(url, "POST", f"{GROUPS}/{group_id}/train").status_code == 202
    wait_for(lambda: call(url, "GET", f"{GROUPS}/{group_id}/training").json()["status"] == "succeeded")
    camera = f"door-{uuid.uuid4().hex[:6]}"
    for frame in still_camera((testdata / "scenes/obama1.jpg").read_bytes()):
        answer = call(url, "POST", "/api/frames", params={"personGroupId": group_id, "cameraId": camera}, data=frame)
    [face] = answer.json()["faces"]
    assert (face["name"], face["personId"]) == ("obama", person)
    named = call(url, "GET", f"/api/visits/{face['visitId']}").json()
    assert named["snapshot"] and call(url, "GET", f"/api/visits/{face['visitId']}/snapshot").status_code == 200
    # The same person a week ago, and someone else today, saved as the frame path saves them.
    week_ago = (utc_now() - timedelta(days=7)).replace(microsecond=0)
    earlier = store.save(visit(week_ago, 0, person=person, person_group_id=group_id, closed=True), blank_jpeg())
    now = utc_now().replace(microsecond=0)
    other = store.save(visit(now, 0, person=str(uuid.uuid4()), person_group_id=group_id, closed=True), blank_jpeg())

    assert call(url, "DELETE", f"{GROUPS}/{group_id}/persons/{person}").status_code == 200

    for visit_id in (face["visitId"], earlier.visit_id):
        unlinked = call(url, "GET", f"/api/visits/{visit_id}").json()
        assert (unlinked["personId"], unlinked["name"], unlinked["confidence"]) == (None, "Unknown", 0)
        assert unlinked["snapshot"] is None and "namedBy" not in unlinked
        assert call(url, "GET", f"/api/visits/{visit_id}/snapshot").json()["error"]["code"] == "VisitNotFound"
    for day in (named["visitId"][1:9], earlier.day):
        listed = call(url, "GET", "/api/visits", params={"day": day, "personId": person}).json()
        assert listed["visits"] == []  # the index rows too
    kept = call(url, "GET", f"/api/visits/{other.visit_id}").json()
    assert kept == other.to_dict()
    assert call(url, "GET", f"/api/visits/{other.visit_id}/snapshot").status_code == 200
    # The visit was still open: the camera goes on seeing the face, with the group not trained again. Its track
    # forgot who it was and the person is never named again: the visit stays Unknown, and said so in an event.
    for frame in still_camera((testdata / "scenes/obama1.jpg").read_bytes(), frames=6)[3:]:  # new frames
        answer = call(url, "POST", "/api/frames", params={"personGroupId": group_id, "cameraId": camera}, data=frame)
        assert [(f["name"], f["personId"]) for f in answer.json()["faces"]] == [("Unknown", None)]
    still_open = call(url, "GET", f"/api/visits/{face['visitId']}").json()
    assert (still_open["personId"], still_open["closed"]) == (None, False)
    assert still_open["frames"] > named["frames"]
    events = call(url, "GET", "/api/events", params={"top": "1000"}).json()["events"]
    renamed = [(e["type"], e["personId"]) for e in events if e["visitId"] == face["visitId"]]
    assert renamed == [("visit.started", person), ("visit.named", person), ("visit.named", None)]


def test_deleting_a_group_unlinks_its_persons_visits(service):
    url, store = service
    group_id = f"g-{uuid.uuid4().hex[:12]}"
    assert call(url, "PUT", f"{GROUPS}/{group_id}", json={"name": "family"}).status_code == 200
    persons = [call(url, "POST", f"{GROUPS}/{group_id}/persons", json={"name": f"p{i}"}).json() for i in range(20)]
    now = utc_now().replace(microsecond=0)
    # More persons than one filter of the Table index takes: the table is scanned once for them all.
    saved = [
        store.save(visit(now, i, person=p["personId"], person_group_id=group_id, closed=True), blank_jpeg())
        for i, p in enumerate(persons)
    ]
    elsewhere = store.save(visit(now, 99, person=persons[0]["personId"], person_group_id="other-group", closed=True))

    assert call(url, "DELETE", f"{GROUPS}/{group_id}").status_code == 200

    for record in saved:
        unlinked = call(url, "GET", f"/api/visits/{record.visit_id}").json()
        assert (unlinked["personId"], unlinked["name"], unlinked["snapshot"]) == (None, "Unknown", None)
    assert store.get(elsewhere.visit_id) == elsewhere  # a visit of another group is not the deleted group's
    assert call(url, "DELETE", f"{GROUPS}/{group_id}").json()["error"]["code"] == "PersonGroupNotFound"
