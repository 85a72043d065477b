"""The visit store and `GET /api/visits` over real HTTP (`python -m function_app serve` as a subprocess), with
each index: SQLite in the local folder, and Azure Table Storage on a real Azurite. This process saves visits
through a VisitStore on the same storage as the server (so the SQLite file is shared by two processes); the
server answers the queries. Each test takes a day of its own (a partition), as Azurite is shared."""

from __future__ import annotations

import io
import itertools
import random
import threading
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
import requests

from function_app.clock import iso
from function_app.settings import Settings
from function_app.storage import create_storage
from function_app.visits.index import create_visit_index
from function_app.visits.records import VisitRecord, new_visit_id
from function_app.visits.store import VisitStore
from function_app.visits.table_index import TableVisitIndex, check_table_endpoint

from .support.images import face_crop_jpeg
from .support.service import start_server, stop_server, visit_index_env
from .support.visit_records import visit

KEY = f"visits-{uuid.uuid4().hex}"
_days = itertools.count(random.randrange(0, 6000) * 3 + 1, 3)  # from 1971 on; a test may use the days either side


class Service:
    def __init__(self, url: str, store: VisitStore):
        self.url = url
        self.store = store

    def get(self, path: str, **params: str) -> requests.Response:
        return requests.get(f"{self.url}{path}", params=params, headers={"Ocp-Apim-Subscription-Key": KEY}, timeout=30)

    def visits(self, **params: str) -> dict:
        answer = self.get("/api/visits", **params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def all_pages(self, top: int, **params: str) -> tuple[list[dict], int]:
        """Every visit of the query, page after page; and the number of pages."""
        visits, token, pages = [], None, 0
        while True:
            page = self.visits(top=str(top), **params, **({"continuationToken": token} if token else {}))
            visits += page["visits"]
            pages += 1
            token = page["continuationToken"]
            if token is None:
                return visits, pages


@pytest.fixture(scope="module", params=["sqlite", "table"])
def service(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"visits-{request.param}")
    env = visit_index_env(request.param, folder, request)
    settings = Settings.from_env(env)
    store = VisitStore(create_storage(settings), create_visit_index(settings))
    process, url = start_server({**env, "FACE_API_KEY": KEY}, folder / "server.log")
    yield Service(url, store)
    stop_server(process)


@pytest.fixture
def day() -> datetime:
    """Midnight UTC of a day no other test uses."""
    return datetime(1971, 1, 1, tzinfo=UTC) + timedelta(days=next(_days))


def _day(moment: datetime) -> str:
    return moment.strftime("%Y%m%d")


def in_order(records: list[VisitRecord]) -> list[dict]:
    return [r.to_dict() for r in sorted(records, key=lambda r: (r.first_seen, r.visit_id))]


def test_a_day_is_listed_in_first_seen_order_across_cameras_whatever_the_order_of_saves(service, day):
    records = [visit(day, ms, camera) for ms, camera in ((5_000, "door"), (1_000, "hall"), (3_000, "garden"))]
    records += [visit(day, 2_000, "door"), visit(day, 2_000, "hall")]  # the same millisecond: by visit id
    records += [visit(day, 86_399_999, "hall"), visit(day, 0, "garden")]  # the day's first and last millisecond
    records.append(visit(day - timedelta(days=1), 86_399_999, "door"))  # the day before: not listed
    records.append(visit(day + timedelta(days=1), 0, "door"))  # the day after
    random.Random(7).shuffle(records)
    for record in records:
        service.store.save(record)
    page = service.visits(day=_day(day))
    assert page == {"visits": in_order([r for r in records if r.day == _day(day)]), "continuationToken": None}
    assert len(page["visits"]) == 7


def test_queries_by_person_unknown_camera_and_time(service, day):
    obama, biden = str(uuid.uuid4()), str(uuid.uuid4())
    records = [
        visit(day, 1_000, "door", obama),
        visit(day, 2_000, "hall", None),
        visit(day, 3_000, "door", biden),
        visit(day, 4_000, "hall", obama),
        visit(day, 5_000, "door", None),
        visit(day, 6_000, "hall", biden),
    ]
    for record in reversed(records):
        service.store.save(record)
    d = _day(day)

    def listed(**params: str) -> list[dict]:
        return service.visits(day=d, **params)["visits"]

    assert listed(personId=obama) == in_order([records[0], records[3]])
    assert listed(unknown="true") == in_order([records[1], records[4]])
    assert listed(unknown="false") == in_order([records[0], records[2], records[3], records[5]])
    assert listed(cameraId="hall") == in_order([records[1], records[3], records[5]])
    assert listed(cameraId="door", personId=biden) == in_order([records[2]])
    assert listed(cameraId="door", unknown="true") == in_order([records[4]])
    assert listed(personId=str(uuid.uuid4())) == []
    # [start, end): a visit first seen at `start` is in, one at `end` is out.
    start, end = iso(day + timedelta(seconds=2)), iso(day + timedelta(seconds=5))
    assert listed(start=start, end=end) == in_order(records[1:4])
    assert listed(start=start) == in_order(records[1:])
    assert listed(end=end) == in_order(records[:4])
    assert listed(start=start, end=end, cameraId="hall", personId=obama) == in_order([records[3]])
    # without `day`, the day of `start`; times in another zone are the same instants
    assert service.visits(start=(day + timedelta(seconds=2)).isoformat())["visits"] == in_order(records[1:])
    east = (day + timedelta(seconds=4)).astimezone(timezone(timedelta(hours=1)))  # 01:00:04+01:00
    assert service.visits(end=east.isoformat())["visits"] == in_order(records[:3])


def test_paging_reaches_the_end_with_no_visit_twice_and_none_missing(service, day):
    rng = random.Random(11)
    records = [visit(day, rng.randrange(86_400_000), rng.choice(["a", "b", "c"])) for _ in range(23)]
    records += [visit(day, 7_000, "a") for _ in range(3)]  # a tie across a page's end
    for record in records:
        service.store.save(record)
    for top in (1, 4, 5, 26, 100):
        listed, pages = service.all_pages(top, day=_day(day))
        assert listed == in_order(records)
        assert pages == max(1, -(-len(records) // top))  # a full last page has no empty page after it
    cameras_a, _ = service.all_pages(3, day=_day(day), cameraId="a")
    assert cameras_a == in_order([r for r in records if r.camera == "a"])


def test_a_token_works_only_for_its_own_query(service, day):
    for ms in range(0, 5_000, 1_000):
        service.store.save(visit(day, ms, "door"))
    token = service.visits(day=_day(day), top="2")["continuationToken"]
    assert token
    assert len(service.visits(day=_day(day), top="3", continuationToken=token)["visits"]) == 3  # top may change
    for other in ({"cameraId": "door"}, {"day": _day(day + timedelta(days=1))}, {"unknown": "true"}):
        answer = service.get("/api/visits", **{"day": _day(day), **other, "continuationToken": token})
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "BadArgument", other
        assert "continuationToken" in answer.json()["error"]["message"]
    for junk in ("junk", "e30", token[:-3], token + "x"):
        answer = service.get("/api/visits", day=_day(day), continuationToken=junk)
        assert answer.status_code == 400, junk


def test_a_visit_and_its_snapshot_by_id(service, day, testdata):
    crop = face_crop_jpeg(testdata / "people_lfw/hugo_chavez/1.jpg")
    saved = service.store.save(visit(day, 9_000, "door", str(uuid.uuid4())), crop)
    assert saved.snapshot == f"visits/{_day(day)}/{saved.visit_id}.jpg"
    answer = service.get(f"/api/visits/{saved.visit_id}")
    assert answer.status_code == 200 and answer.json() == saved.to_dict()
    assert service.visits(day=_day(day))["visits"] == [saved.to_dict()]
    image = service.get(f"/api/visits/{saved.visit_id}/snapshot")
    assert image.status_code == 200 and image.headers["Content-Type"].startswith("image/jpeg")
    assert image.content == crop
    from PIL import Image

    with Image.open(io.BytesIO(image.content)) as picture:
        assert picture.format == "JPEG" and picture.size == (110, 130)

    plain = service.store.save(visit(day, 10_000, "door"))
    assert plain.snapshot is None
    no_snapshot = service.get(f"/api/visits/{plain.visit_id}/snapshot")
    assert no_snapshot.status_code == 404 and no_snapshot.json()["error"]["code"] == "VisitNotFound"
    never = new_visit_id(day)
    for path in (f"/api/visits/{never}", f"/api/visits/{never}/snapshot"):
        answer = service.get(path)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "VisitNotFound", path
    for bad in ("v1-x", "..", "V20261126T101530123-0123456789ab", never + "0", never.replace("v", "w")):
        for path in (f"/api/visits/{bad}", f"/api/visits/{bad}/snapshot"):
            answer = service.get(path)
            assert answer.status_code in (400, 404), path
            if answer.status_code == 400:
                assert answer.json()["error"]["code"] == "BadArgument"
    assert service.get("/api/visits/v1-x").json()["error"]["code"] == "BadArgument"


def test_saving_again_overwrites_the_visit_and_its_row(service, day, testdata):
    first = service.store.save(visit(day, 1_000, "door"), face_crop_jpeg(testdata / "people_lfw/hugo_chavez/2.jpg"))
    person = str(uuid.uuid4())
    named = replace(first, person_id=person, name="hugo", confidence=0.93, frames=40, last_seen=first.last_seen)
    service.store.save(named)
    closed = service.store.save(
        replace(named, frames=55, last_seen=first.last_seen + timedelta(seconds=30), closed=True)
    )
    assert closed.snapshot == first.snapshot  # kept: the record answered by the first save names it
    assert service.get(f"/api/visits/{first.visit_id}").json() == closed.to_dict()
    assert service.visits(day=_day(day))["visits"] == [closed.to_dict()]
    assert service.visits(day=_day(day), unknown="true")["visits"] == []  # the Unknown row is gone
    assert service.visits(day=_day(day), personId=person)["visits"] == [closed.to_dict()]


def test_a_deleted_visit_is_gone_with_its_snapshot(service, day, testdata):
    kept = service.store.save(visit(day, 1_000, "door"))
    merged = service.store.save(visit(day, 2_000, "door"), face_crop_jpeg(testdata / "people_lfw/hugo_chavez/3.jpg"))
    service.store.delete(merged)
    service.store.delete(merged)  # again: nothing left to remove, no error
    assert service.get(f"/api/visits/{merged.visit_id}").status_code == 404
    assert service.get(f"/api/visits/{merged.visit_id}/snapshot").status_code == 404
    assert service.visits(day=_day(day))["visits"] == [kept.to_dict()]


def test_invalid_queries_are_answered_400(service, day):
    d = _day(day)
    inside = iso(day + timedelta(hours=1))
    bad = [
        {"day": "2026-11-26"},
        {"day": "20261340"},
        {"day": "2026112"},
        {"day": d, "start": "yesterday"},
        {"day": d, "start": "2026-11-26T10:00:00"},  # no zone
        {"day": d, "start": iso(day - timedelta(milliseconds=1))},  # outside the day
        {"day": d, "end": iso(day + timedelta(days=1, milliseconds=1))},
        {"day": d, "start": inside, "end": inside},
        {"day": d, "top": "0"},
        {"day": d, "top": "1001"},
        {"day": d, "top": "ten"},
        {"day": d, "cameraId": "bad camera!"},
        {"day": d, "unknown": "maybe"},
        {"day": d, "unknown": "true", "personId": str(uuid.uuid4())},
        {"day": d, "personId": "x" * 129},
    ]
    for params in bad:
        answer = service.get("/api/visits", **params)
        assert answer.status_code == 400, params
        assert answer.json()["error"]["code"] == "BadArgument", params
    assert service.visits(day=d, top="1000", end=iso(day + timedelta(days=1))) == {
        "visits": [],
        "continuationToken": None,
    }
    assert service.get("/api/visits", day=d, top="1").status_code == 200


def test_the_store_refuses_what_the_frame_path_must_not_write(service, day):
    record = visit(day, 1_000)
    with pytest.raises(ValueError, match="first-seen time is fixed"):
        service.store.save(replace(record, first_seen=record.first_seen + timedelta(milliseconds=1)))
    with pytest.raises(ValueError, match="Invalid visit id"):
        service.store.save(replace(record, visit_id="../escape"))
    with pytest.raises(ValueError, match="not a JPEG"):
        service.store.save(record, b"GIF89a")
    assert service.visits(day=_day(day))["visits"] == []


def test_threads_saving_at_once_lose_no_visit(service, day):
    records = [visit(day, ms, f"cam{ms % 4}") for ms in range(0, 80_000, 1_000)]
    errors: list[BaseException] = []

    def save(part: list[VisitRecord]) -> None:
        try:
            for record in part:
                service.store.save(record)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(records[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert service.all_pages(1000, day=_day(day))[0] == in_order(records)


def test_a_connection_string_without_a_table_endpoint_is_refused_at_the_index_s_first_use():
    azurite_like = "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:1/a;"
    with pytest.raises(ValueError, match="TableEndpoint"):
        check_table_endpoint(azurite_like)
    with pytest.raises(ValueError, match="TableEndpoint"):
        TableVisitIndex(azurite_like).remove(visit(datetime(2026, 11, 26, tzinfo=UTC), 1))
    assert check_table_endpoint("UseDevelopmentStorage=true")
    assert check_table_endpoint(
        "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=a2V5;EndpointSuffix=core.windows.net"
    )


def test_the_sqlite_index_is_one_file_under_the_storage_root(tmp_path):
    settings = Settings.from_env({"STORAGE_BACKEND": "local", "STORAGE_DIR": str(tmp_path)})
    store = VisitStore(create_storage(settings), create_visit_index(settings))
    assert not any(tmp_path.iterdir())  # nothing opened before the first use
    store.save(visit(datetime(2026, 11, 26, tzinfo=UTC), 1))
    assert (tmp_path / "visits.sqlite3").is_file()
    assert {p.name for p in tmp_path.iterdir()} <= {
        "visits.sqlite3",
        "visits.sqlite3-wal",
        "visits.sqlite3-shm",
        "blobs",
    }
