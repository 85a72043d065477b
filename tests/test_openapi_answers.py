"""The OpenAPI document against the real answers: every route of the app is called in-process with real
requests on real photos, and every answer, success and error, is validated against the schema that
/api/openapi.json declares for its operation and status (OpenAPI 3.0 semantics, `$ref`s resolved in the
document itself). The document's answer objects are closed, so a field added to an answer and not to the
document fails here, as does an undeclared status, a missing body or an unexpected one.

The scenario runs once (module fixture) and records every answer; the tests then check that every answer
was valid, that every operation of the document was exercised, and that every status the document
declares for an operation was seen, success and error alike: a new route, or a status declared
without an answer behind it, fails until this scenario produces it."""

from __future__ import annotations

import io
import json
import re
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from function_app.clock import iso, utc_now
from function_app.faceapi.azure import client as azure_client
from function_app.faceapi.group_kinds import LARGE_PERSON_GROUP, PERSON_GROUP, GroupKind
from function_app.imaging import decode_upload
from function_app.local_host.worker import QueueWorker
from function_app.local_host.wsgi import FunctionsWsgiApp
from function_app.models import UNKNOWN
from function_app.runtime import Runtime, current_runtime
from function_app.visits.records import VisitRecord, new_visit_id
from function_app.visits.snapshots import snapshot_jpeg
from function_app.visits.strangers import announce_closed

from .support.api_client import InProcessClient, Reply, drain, queue_worker, router, use_local_app
from .support.azurite import free_port
from .support.face_api_proxy import FaceApiProxy
from .support.images import blank_jpeg, face_crop_jpeg, still_camera, zip_of
from .support.photo_server import photo_server

KEY = f"key-{uuid.uuid4().hex}"
PREFIXES = ("", "large_person_group_")  # of the person functions' names, by kind
JSON = "application/json"
DOCUMENT_URI = "urn:video-face-recognition:openapi.json"
FORMATS = jsonschema.FormatChecker()  # date-time and uuid are checked too
METHODS = ("get", "put", "post", "patch", "delete")
# A body over this size is refused by the host (413); the local host is driven with this small limit
# instead of its 100 MB, the code path being the same.
SMALL_BODY_LIMIT = 1024


def _pointer(*parts: str) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass(frozen=True)
class Operation:
    id: str
    method: str
    path: str
    pattern: re.Pattern[str]
    responses: dict[str, Any]
    has_body: bool

    def statuses(self) -> set[int]:
        return {int(status) for status in self.responses}


class Document:
    """The served document: its operations, and a validator for any schema in it."""

    def __init__(self, spec: dict[str, Any]):
        self.spec = spec
        self.registry = Registry().with_resource(
            DOCUMENT_URI, Resource.from_contents(spec, default_specification=DRAFT4)
        )
        self.operations: dict[str, Operation] = {}
        for path, methods in spec["paths"].items():
            segments = (r"[^/]+" if s.startswith("{") else re.escape(s) for s in path.split("/"))
            pattern = re.compile("^" + "/".join(segments) + "$")
            for method, operation in methods.items():
                if method in METHODS:
                    self.operations[operation["operationId"]] = Operation(
                        operation["operationId"],
                        method,
                        path,
                        pattern,
                        operation["responses"],
                        "requestBody" in operation,
                    )

    def operation(self, method: str, path: str) -> Operation:
        found = [o for o in self.operations.values() if o.method == method.lower() and o.pattern.match(path)]
        assert len(found) == 1, f"{method} {path}: {len(found)} operations of the document match"
        return found[0]

    def errors(self, pointer: str, instance: Any) -> list[str]:
        validator = OAS30Validator(
            {"$ref": DOCUMENT_URI + "#" + pointer}, registry=self.registry, format_checker=FORMATS
        )
        return [f"{error.json_path}: {error.message}" for error in validator.iter_errors(instance)]

    def answer_pointer(self, operation: Operation, status: int, media_type: str = JSON) -> str:
        return _pointer(
            "paths", operation.path, operation.method, "responses", str(status), "content", media_type, "schema"
        )


@dataclass
class Answers:
    """Every answer of the scenario, checked against the document as it comes."""

    document: Document
    seen: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    problems: list[str] = field(default_factory=list)
    bodies: dict[tuple[str, int], list[Any]] = field(default_factory=lambda: defaultdict(list))

    def check(self, method: str, path: str, reply: Reply) -> None:
        operation = self.document.operation(method, path)
        self.seen[operation.id].add(reply.status)
        where = f"{operation.id} ({method} {path}) {reply.status}"
        declared = operation.responses.get(str(reply.status))
        if declared is None:
            self.problems.append(f"{where}: status not declared; body {reply.body[:200]!r}")
            return
        headers = {k.lower(): v for k, v in reply.headers.items()}
        for name, header in declared.get("headers", {}).items():
            value = headers.get(name.lower())
            if value is None:
                if header.get("required"):
                    self.problems.append(f"{where}: header {name} missing")
            elif header["schema"].get("type") == "integer" and not value.isdigit():
                self.problems.append(f"{where}: header {name} {value!r} is not an integer")
        content = declared.get("content")
        if content is None:
            if reply.body:
                self.problems.append(f"{where}: the document declares no body, the answer has {reply.body[:200]!r}")
            return
        if reply.mimetype not in content:
            self.problems.append(f"{where}: content type {reply.mimetype!r}, the document declares {list(content)}")
            return
        if reply.mimetype != JSON:  # a binary answer (a visit's snapshot): its media type is what is declared
            if not reply.body:
                self.problems.append(f"{where}: an empty {reply.mimetype} body")
            return
        try:
            body = json.loads(reply.body)
        except ValueError:
            self.problems.append(f"{where}: not JSON: {reply.body[:200]!r}")
            return
        self.bodies[operation.id, reply.status].append(body)
        pointer = self.document.answer_pointer(operation, reply.status, reply.mimetype)
        self.problems.extend(f"{where}: {error}" for error in self.document.errors(pointer, body))


class CheckedClient:
    """The in-process client, each answer checked; `expect` is the status the scenario means to cause."""

    def __init__(self, answers: Answers, key: str | None = KEY):
        self.answers = answers
        self.client = InProcessClient(key)

    def request(self, method: str, path: str, expect: int, **kw) -> Reply:
        reply = self.client.request(method, path, **kw)
        self.answers.check(method, path, reply)
        assert reply.status == expect, (
            f"{method} {path}: expected {expect}, answered {reply.status} {reply.body[:300]!r}"
        )
        return reply

    def get(self, path: str, expect: int, **kw) -> Reply:
        return self.request("GET", path, expect, **kw)

    def post(self, path: str, expect: int, **kw) -> Reply:
        return self.request("POST", path, expect, **kw)

    def put(self, path: str, expect: int, **kw) -> Reply:
        return self.request("PUT", path, expect, **kw)

    def patch(self, path: str, expect: int, **kw) -> Reply:
        return self.request("PATCH", path, expect, **kw)

    def delete(self, path: str, expect: int, **kw) -> Reply:
        return self.request("DELETE", path, expect, **kw)


# -- the scenario ----------------------------------------------------------------------------------
@dataclass
class Scenario:
    api: CheckedClient
    testdata: Path
    worker: QueueWorker
    operation_id: str = ""  # a training's long-running operation, once the scenario has one
    visit_id: str = ""  # an Unknown visit with a snapshot, once the scenario has one

    def photo(self, name: str) -> bytes:
        return (self.testdata / name).read_bytes()

    def drain(self) -> None:
        drain(self.worker)


def _groups_persons_and_faces(s: Scenario, kind: GroupKind = PERSON_GROUP) -> tuple[str, dict[str, str]]:
    """A group of people/ (every photo added through the API), trained: (group id, {name: personId}).
    Person groups in v1.0, large person groups in v1.2-preview.1 (training with an Operation-Location)."""
    api = s.api
    collection = f"/face/{'v1.0' if kind == PERSON_GROUP else 'v1.2-preview.1'}/{kind.route}"
    group = f"g-{uuid.uuid4().hex[:12]}"
    base = f"{collection}/{group}"
    missing = f"{collection}/g-missing-{uuid.uuid4().hex[:6]}"
    api.put(base, 200, json_body={"name": "family"})
    api.put(base, 409, json_body={"name": "again"})
    api.put(f"{collection}/Bad Id", 400, json_body={"name": "x"})
    api.put(f"{collection}/g-{uuid.uuid4().hex[:8]}", 400, data=b"", content_type=JSON)
    api.get(base, 200)  # userData null
    api.get(base, 400, params={"returnRecognitionModel": "maybe"})
    api.get(missing, 404)
    api.patch(base, 200, json_body={"userData": "home"})
    api.patch(base, 400, data=b"{not json", content_type=JSON)
    api.patch(missing, 404, json_body={"name": "x"})
    api.get(base, 200, params={"returnRecognitionModel": "true"})
    assert group in [g[kind.id_name] for g in api.get(collection, 200, params={"top": "1000"}).json()]
    api.get(collection, 200, params={"returnRecognitionModel": "true"})
    api.get(collection, 400, params={"top": "0"})
    api.get(collection.replace("/face/v1", "/face/v9"), 404)  # a version this service does not speak
    api.put(base.replace("/face/v1", "/face/v9"), 404, json_body={"name": "x"})

    persons: dict[str, str] = {}
    for folder in sorted((s.testdata / "people").iterdir()):
        body = {"name": folder.name, **({"userData": "first"} if not persons else {})}
        persons[folder.name] = api.post(f"{base}/persons", 200, json_body=body).json()["personId"]
        for n, photo in enumerate(sorted(folder.iterdir())):
            params = {"userData": photo.name, "detectionModel": "detection_03"} if n == 0 else {}
            api.post(
                f"{base}/persons/{persons[folder.name]}/persistedfaces", 200, data=photo.read_bytes(), params=params
            )
    api.post(f"{base}/persons", 400, json_body={"userData": "no name"})
    api.post(f"{missing}/persons", 404, json_body={"name": "x"})
    api.get(f"{base}/persons", 200)
    api.get(f"{base}/persons", 400, params={"top": "many"})
    api.get(f"{missing}/persons", 404)

    obama = f"{base}/persons/{persons['obama']}"
    nobody = f"{base}/persons/{uuid.uuid4()}"
    api.get(obama, 200)
    api.get(f"{collection}/Bad Id/persons/{persons['obama']}", 400)
    api.get(nobody, 404)
    api.patch(obama, 200, json_body={"userData": "44th"})
    api.patch(obama, 400, data=b"[1]", content_type=JSON)
    api.patch(nobody, 404, json_body={"name": "x"})

    faces = api.get(obama, 200).json()["persistedFaceIds"]
    for face in faces:  # the first with userData, the others with null
        api.get(f"{obama}/persistedfaces/{face}", 200)
    api.get(f"{collection}/Bad Id/persons/{persons['obama']}/persistedfaces/{faces[0]}", 400)
    api.get(f"{obama}/persistedfaces/{uuid.uuid4()}", 404)
    photos = f"/api/{kind.route}/{group}/persons/{persons['obama']}/persistedfaces"
    uploaded = {s.photo(f"people/obama/{n}.jpg") for n in (1, 2)}
    assert {api.get(f"{photos}/{face}/photo", 200).body for face in faces} == uploaded
    api.get(f"/api/{kind.route}/Bad Id/persons/{persons['obama']}/persistedfaces/{faces[0]}/photo", 400)
    api.get(f"{photos}/{uuid.uuid4()}/photo", 404)
    api.patch(f"{obama}/persistedfaces/{faces[0]}", 200, json_body={"userData": "checked"})
    assert api.get(f"{obama}/persistedfaces/{faces[0]}", 200).json()["userData"] == "checked"
    api.patch(f"{obama}/persistedfaces/{faces[0]}", 400, data=b"{not json", content_type=JSON)
    api.patch(f"{obama}/persistedfaces/{uuid.uuid4()}", 404, json_body={"userData": "x"})
    # v1.2 answers adding a face as a long-running operation, already succeeded
    v12 = re.sub(r"^/face/[^/]+/", "/face/v1.2/", f"{obama}/persistedfaces")
    added = api.post(v12, 202, data=s.photo("people/obama/1.jpg"))
    operation = api.get(_path_of(added.headers["Operation-Location"]), 200).json()
    assert operation["status"] == "succeeded" and added.json()["persistedFaceId"] in operation["message"]
    api.delete(f"{obama}/persistedfaces/{added.json()['persistedFaceId']}", 200)
    api.post(f"{obama}/persistedfaces", 400, data=blank_jpeg())
    api.post(f"{obama}/persistedfaces", 400, json_body={"url": "http://127.0.0.1:9/obama.jpg"})
    api.post(f"{obama}/persistedfaces", 400, data=blank_jpeg(), params={"targetFace": "1,2,3"})
    api.post(f"{nobody}/persistedfaces", 404, data=s.photo("people/obama/1.jpg"))

    fresh = f"{collection}/g-{uuid.uuid4().hex[:12]}"
    api.put(fresh, 200, json_body={"name": "empty", "recognitionModel": "recognition_03"})
    assert api.get(fresh, 200, params={"returnRecognitionModel": "true"}).json()["recognitionModel"] == "recognition_03"
    api.get(f"{fresh}/training", 404)  # never trained: Azure's 404 (Large)PersonGroupNotTrained
    api.post(f"{fresh}/train", 202)
    api.delete(fresh, 409)  # while it trains
    s.drain()
    api.get(f"{fresh}/training", 200)  # failed, with a message
    api.delete(fresh, 200)
    api.post(f"{collection}/Bad Id/train", 400)
    api.post(f"{missing}/train", 404)
    api.get(f"{collection}/Bad Id/training", 400)
    api.get(f"{missing}/training", 404)

    training = api.post(f"{base}/train", 202)
    assert api.get(f"{base}/training", 200).json()["status"] == "running"
    if kind != PERSON_GROUP:  # v1.1 and later: the operation to poll
        operation = _path_of(training.headers["Operation-Location"])
        assert api.get(operation, 200).json()["status"] == "running"
        s.operation_id = operation.rsplit("/", 1)[1]
    s.drain()
    assert api.get(f"{base}/training", 200).json()["status"] == "succeeded"
    if kind != PERSON_GROUP:
        done = api.get(operation, 200).json()
        assert done["status"] == "succeeded" and done["finishedTime"], done
        api.get(f"{operation.rsplit('/', 1)[0]}/{uuid.uuid4()}", 404)
    return group, persons


def _path_of(url: str) -> str:
    return urlsplit(url).path


def _detect_identify_verify(
    s: Scenario, group: str, persons: dict[str, str], large: str, large_persons: dict[str, str]
) -> None:
    api = s.api
    every = {
        "returnFaceId": "true",
        "returnFaceLandmarks": "true",
        "returnFaceAttributes": "headPose,blur,exposure,qualityForRecognition",
        "detectionModel": "detection_01",
        "recognitionModel": "recognition_04",
    }
    two = api.post("/face/v1.0/detect", 200, data=s.photo("scenes/two_people.jpg"), params=every).json()
    assert len(two) == 2
    api.post("/face/v1.0/detect", 200, data=s.photo("scenes/kit_with_rose.jpg"), params={"returnFaceId": "false"})
    api.post("/face/v1.0/detect", 200, data=s.photo("scenes/obama1.jpg"), params={"returnFaceAttributes": "blur"})
    api.post("/face/v1.0/detect", 200, data=blank_jpeg())
    api.post("/face/v1.0/detect", 400, data=s.photo("scenes/obama1.jpg"), params={"returnFaceAttributes": "age"})
    api.post("/face/v1.0/detect", 400, data=b"not an image")

    face_ids = [f["faceId"] for f in two]
    stranger = api.post("/face/v1.0/detect", 200, data=s.photo("people_lfw/vladimir_putin/1.jpg")).json()[0]["faceId"]
    identify = "/face/v1.0/identify"
    api.post(identify, 200, json_body={"faceIds": [*face_ids, stranger], "personGroupId": group})
    api.post(identify, 200, json_body={"faceIds": face_ids, "personGroupId": group, "maxNumOfCandidatesReturned": 3})
    api.post(identify, 400, json_body={"faceIds": [str(uuid.uuid4())], "personGroupId": group})  # as Azure
    api.post(identify, 400, json_body={"faceIds": face_ids, "personGroupId": "g-no-such-group"})
    api.post(identify, 400, json_body={"faceIds": face_ids})
    found = api.post(identify, 200, json_body={"faceIds": face_ids, "largePersonGroupId": large}).json()
    assert {r["candidates"][0]["personId"] for r in found} == {large_persons["obama"], large_persons["biden"]}

    verify = "/face/v1.0/verify"
    api.post(verify, 200, json_body={"faceId1": face_ids[0], "faceId2": face_ids[1]})
    api.post(verify, 200, json_body={"faceId": face_ids[0], "personGroupId": group, "personId": persons["obama"]})
    to_large = {"faceId": face_ids[0], "largePersonGroupId": large, "personId": large_persons["obama"]}
    api.post(verify, 200, json_body=to_large)
    api.post(verify, 404, json_body={"faceId1": face_ids[0], "faceId2": str(uuid.uuid4())})
    api.post(verify, 400, json_body={"faceId1": face_ids[0]})


def _frames_and_sightings(s: Scenario, group: str) -> None:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FRAME_RECORDS", "on")  # the per-frame records that /api/sightings answers
        _frames_and_sightings_recorded(s, group)


def _frames_and_sightings_recorded(s: Scenario, group: str) -> None:
    api = s.api
    camera = f"door-{uuid.uuid4().hex[:6]}"

    def frame(photo: bytes, expect: int = 200, content_type: str = "application/octet-stream", **params: str) -> dict:
        params = {"personGroupId": group, "cameraId": camera, **params}
        return api.post("/api/frames", expect, data=photo, params=params, content_type=content_type).json()

    def still(photo: bytes, **options: Any) -> list[dict]:
        return [frame(f, **options) for f in still_camera(photo)]

    known = still(s.photo("scenes/two_people.jpg"), location="Casa")
    assert {f["name"] for f in known[-1]["faces"]} == {"obama", "biden"}  # a track is named from 3 frames
    _cameras(api, camera, still_camera(s.photo("scenes/two_people.jpg"))[-1], known[-1])
    stranger = still(s.photo("people_lfw/hugo_chavez/1.jpg"), content_type="image/jpeg", confidenceThreshold="0.6")
    assert "Unknown" in {f["name"] for f in stranger[-1]["faces"]}
    assert frame(blank_jpeg())["record"] is None
    frame(s.photo("scenes/obama1.jpg"), 400, cameraId="bad camera!")
    frame(b"not a jpeg", 400)
    frame(s.photo("scenes/obama1.jpg"), 404, personGroupId="g-no-such-group")

    sightings = "/api/sightings"
    rows = api.get(sightings, 200, params={"cameraId": camera}).json()["sightings"]
    assert len(rows) == sum(len(answer["faces"]) for answer in known + stranger)
    page = api.get(sightings, 200, params={"cameraId": camera, "top": "1"}).json()
    assert page["continuationToken"]
    api.get(sightings, 200, params={"cameraId": camera, "continuationToken": page["continuationToken"]})
    api.get(sightings, 200, params={"personId": known[-1]["faces"][0]["personId"]})
    api.get(sightings, 200, params={"day": "19990101"})
    api.get(sightings, 400, params={"day": "24-11-2026"})
    api.get(sightings, 400, params={"continuationToken": "junk"})


def _cameras(api: CheckedClient, camera: str, image: bytes, answer: dict) -> None:
    """The camera's latest frame, kept in memory by the frame path: its summary, its answer, its bytes."""
    listed = {c["cameraId"]: c for c in api.get("/api/cameras", 200).json()}
    assert listed[camera]["faces"] == len(answer["faces"])
    assert api.get(f"/api/cameras/{camera}/latest", 200).json()["faces"] == answer["faces"]
    assert api.get(f"/api/cameras/{camera}/latest.jpg", 200).body == image
    for path in ("latest", "latest.jpg"):
        api.get(f"/api/cameras/no-such-camera/{path}", 404)
        api.get(f"/api/cameras/bad camera!/{path}", 400)


def _unknown_visitors(s: Scenario, group: str) -> None:
    """Two closed Unknown visits of one stranger (as the frame path stores them, their snapshot a real face's
    crop), remembered by the unknown-visits queue: found by similar, one named, the other left for samples."""
    api = s.api
    runtime = current_runtime()
    first, second = (
        _closed_unknown_visit(runtime, group, s.photo(f"people_lfw/vladimir_putin/{n}.jpg")) for n in (2, 3)
    )
    s.drain()  # the queue adds them to the group's list of Unknown visitors, and the list trains
    similar = api.get(f"/api/visits/{first}/similar", 200, params={"top": "5", "days": "1"}).json()
    assert [v["visit"]["visitId"] for v in similar["visits"]] == [second]
    api.get(f"/api/visits/{first}/similar", 400, params={"days": "0"})
    api.get(f"/api/visits/{new_visit_id(utc_now())}/similar", 404)
    named = api.post(f"/api/visits/{first}/person", 200, json_body={"name": "vladimir", "train": False}).json()
    assert named["visit"]["namedBy"] == "user"
    api.post(f"/api/visits/{first}/person", 409, json_body={"name": "vladimir"})
    api.post(f"/api/visits/{second}/person", 404, json_body={"personId": str(uuid.uuid4())})
    api.post(f"/api/visits/{second}/person", 400, json_body={})
    s.visit_id = second
    events = api.get("/api/events", 200, params={"top": "1000"}).json()
    assert first in {e["visitId"] for e in events["events"] if e["type"] == "visit.named"}
    api.get("/api/events", 200, params={"after": events["next"]})
    api.get("/api/events", 400, params={"after": "junk"})


def _closed_unknown_visit(runtime: Runtime, group: str, photo: bytes) -> str:
    image = decode_upload(photo, runtime.settings)
    (face,) = runtime.face_api.find_faces(image)
    now = utc_now()
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # a visit id holds milliseconds
    record = VisitRecord(new_visit_id(now), "door", "door", group, None, UNKNOWN, 0.0, now, now, 3, True, None)
    saved = runtime.visits.save(record, snapshot_jpeg(image, face.rectangle))
    announce_closed(runtime.storage, saved)
    return saved.visit_id


def _visits(s: Scenario) -> None:
    """Visits saved as the frame path saves them (VisitStore), then listed and read over the API."""
    api = s.api
    store = current_runtime().visits
    first = datetime(2001, 2, 3, 10, 15, 30, 123000, tzinfo=UTC)  # a day no frame of the scenario falls on

    def save(moment: datetime, camera: str, person_id: str | None, snapshot: bytes | None) -> VisitRecord:
        name, confidence = ("obama", 0.91) if person_id else (UNKNOWN, 0.0)
        record = VisitRecord(
            new_visit_id(moment), camera, "Casa", "family", person_id, name, confidence, moment, moment, 3, False, None
        )
        return store.save(record, snapshot)

    named = save(first, "door", str(uuid.uuid4()), face_crop_jpeg(s.testdata / "people_lfw/hugo_chavez/1.jpg"))
    unknown = save(first + timedelta(seconds=1), "hall", None, None)
    page = api.get("/api/visits", 200, params={"day": "20010203", "top": "1"}).json()
    assert [v["visitId"] for v in page["visits"]] == [named.visit_id] and page["continuationToken"]
    params = {"day": "20010203", "top": "1", "continuationToken": page["continuationToken"]}
    assert api.get("/api/visits", 200, params=params).json() == {
        "visits": [unknown.to_dict()],
        "continuationToken": None,
    }
    window = {"start": iso(first), "end": iso(first + timedelta(hours=1))}
    assert api.get("/api/visits", 200, params={"unknown": "true", "cameraId": "hall", **window}).json()["visits"]
    api.get("/api/visits", 200, params={"personId": named.person_id or "", "day": "20010203"})
    api.get("/api/visits", 400, params={"day": "2001-02-03"})
    api.get("/api/visits", 400, params={"continuationToken": "junk"})
    api.get(f"/api/visits/{named.visit_id}", 200)
    api.get(f"/api/visits/{new_visit_id(first)}", 404)
    api.get("/api/visits/not-a-visit", 400)
    assert api.get(f"/api/visits/{named.visit_id}/snapshot", 200).body[:3] == b"\xff\xd8\xff"
    api.get(f"/api/visits/{unknown.visit_id}/snapshot", 404)
    api.get("/api/visits/not-a-visit/snapshot", 400)


def _webhooks(s: Scenario) -> None:
    """Subscriptions through the API: made, replaced, listed, read with their status, deleted; refusals."""
    api = s.api
    hook = "/api/webhooks/openapi-hook"
    body = {"url": "http://127.0.0.1:9/hook", "secret": "s3cret", "eventTypes": ["visit.started"]}
    made = api.put(hook, 200, json_body=body).json()
    assert made["signed"] and "secret" not in made
    assert api.put(hook, 200, json_body={"url": "https://127.0.0.1:9/other", "cameraIds": ["door"]}).json()["url"]
    assert [w["webhookId"] for w in api.get("/api/webhooks", 200).json()] == ["openapi-hook"]
    assert api.get(hook, 200).json()["status"]["delivered"] == 0
    api.put(hook, 400, json_body={"url": "ftp://127.0.0.1/hook"})
    api.put(hook, 400, json_body={"url": "http://127.0.0.1:9/hook", "eventTypes": ["visit.left"]})
    api.put("/api/webhooks/Bad Id", 400, json_body=body)
    api.get("/api/webhooks/Bad Id", 400)
    api.delete(hook, 200)
    api.get(hook, 404)
    api.delete(hook, 404)
    api.delete("/api/webhooks/Bad Id", 400)


def _enrollments(s: Scenario) -> None:
    api = s.api
    files = {f"photos/{p.parent.name}/{p.name}": p.read_bytes() for p in sorted((s.testdata / "people").glob("*/*"))}
    files["photos/biden/blank.jpg"] = blank_jpeg()
    files["photos/notes.txt"] = b"not a photo"
    group = f"z-{uuid.uuid4().hex[:8]}"
    started = api.post(
        "/api/enrollments", 202, data=zip_of(files), content_type="application/zip", params={"personGroupId": group}
    ).json()
    job = f"/api/enrollments/{started['enrollmentId']}"
    api.get(job, 200)  # notStarted
    s.drain()
    done = api.get(job, 200).json()
    assert done["status"] == "succeeded" and done["rejected"] and done["trainingStatus"] == "succeeded", done

    prefix = f"batch-{uuid.uuid4().hex[:6]}"
    for n, photo in enumerate(sorted((s.testdata / "people/obama").iterdir()), start=1):
        current_runtime().storage.put_blob("uploads", f"{prefix}/obama{n}{photo.suffix}", photo.read_bytes())
    body = {"personGroupId": f"b-{uuid.uuid4().hex[:8]}", "container": "uploads", "prefix": prefix, "train": False}
    blobs = api.post("/api/enrollments", 202, json_body=body).json()
    s.drain()
    assert api.get(f"/api/enrollments/{blobs['enrollmentId']}", 200).json()["trainingStatus"] is None

    api.post("/api/enrollments", 400, data=b"not a zip", content_type="application/zip", params={"personGroupId": "x"})
    api.post("/api/enrollments", 400, json_body={"personGroupId": "x", "container": "facegroups"})
    api.get(f"/api/enrollments/{uuid.uuid4()}", 404)
    api.get("/api/enrollments/not-an-id", 404)


def _face_lists_and_similarity(s: Scenario, photos_url: str) -> None:
    """Both kinds of face list, find-similar and group: every status of each, photos by stream and URL."""
    api = s.api
    lists: dict[str, tuple[str, str]] = {}  # id field: (list id, a persisted face id)
    for kind, id_field in (("facelists", "faceListId"), ("largefacelists", "largeFaceListId")):
        list_id = f"l-{uuid.uuid4().hex[:12]}"
        base, missing, bad = f"/face/v1.0/{kind}/{list_id}", f"/face/v1.0/{kind}/l-missing", f"/face/v1.0/{kind}/Bad Id"
        api.put(base, 200, json_body={"name": "lists", "recognitionModel": "recognition_04"})
        api.put(base, 409, json_body={"name": "again"})
        api.put(bad, 400, json_body={"name": "x"})
        api.patch(base, 200, json_body={"userData": "data"})
        api.patch(bad, 400, json_body={"name": "x"})
        api.patch(missing, 404, json_body={"name": "x"})
        api.get(base, 200, params={"returnRecognitionModel": "true"})
        api.get(base, 200)
        api.get(bad, 400)
        api.get(missing, 404)
        api.get(f"/face/v1.0/{kind}", 200, params={"returnRecognitionModel": "true", "top": "5"})
        api.get(f"/face/v1.0/{kind}", 400, params={"top": "0"})
        face_id = api.post(
            f"{base}/persistedfaces", 200, data=s.photo("people/obama/1.jpg"), params={"userData": "o"}
        ).json()["persistedFaceId"]
        api.post(f"{base}/persistedfaces", 200, json_body={"url": f"{photos_url}/people/biden/1.jpg"})
        api.post(f"{base}/persistedfaces", 400, json_body={"url": f"{photos_url}/no-such-photo.jpg"})
        api.post(f"{base}/persistedfaces", 400, data=blank_jpeg())
        api.post(f"{missing}/persistedfaces", 404, data=s.photo("people/obama/2.jpg"))
        lists[id_field] = (list_id, face_id)
        if kind == "largefacelists":
            face = f"{base}/persistedfaces/{face_id}"
            # v1.2 answers adding a face as a long-running operation, already succeeded
            added = api.post(f"/face/v1.2/{kind}/{list_id}/persistedfaces", 202, data=s.photo("people/obama/2.jpg"))
            assert api.get(_path_of(added.headers["Operation-Location"]), 200).json()["status"] == "succeeded"
            api.get(f"{base}/training", 404)  # never trained
            api.post(f"{base}/train", 202)
            api.get(f"{base}/training", 200)  # running
            s.drain()
            api.get(f"{bad}/training", 400)
            api.post(f"{bad}/train", 400)
            api.post(f"{missing}/train", 404)
            api.get(f"{base}/persistedfaces", 200, params={"top": "1"})
            api.get(f"{base}/persistedfaces", 400, params={"top": "x"})
            api.get(f"{missing}/persistedfaces", 404)
            api.get(face, 200)
            api.get(f"{bad}/persistedfaces/{face_id}", 400)
            api.get(f"{base}/persistedfaces/{uuid.uuid4()}", 404)
            api.patch(face, 200, json_body={"userData": "obama"})
            api.patch(face, 400, data=b"[", content_type=JSON)
            api.patch(f"{base}/persistedfaces/{uuid.uuid4()}", 404, json_body={"userData": "x"})

    probe = api.post("/face/v1.0/detect", 200, data=s.photo("people/obama/2.jpg")).json()[0]["faceId"]
    other = api.post("/face/v1.0/detect", 200, json_body={"url": f"{photos_url}/people/biden/2.jpg"}).json()[0]
    similar = "/face/v1.0/findsimilars"
    for id_field, (list_id, _) in lists.items():
        assert api.post(similar, 200, json_body={"faceId": probe, id_field: list_id}).json()
    api.post(similar, 200, json_body={"faceId": probe, "faceIds": [other["faceId"]], "mode": "matchFace"})
    api.post(similar, 400, json_body={"faceId": probe})
    api.post(similar, 404, json_body={"faceId": str(uuid.uuid4()), "faceIds": [probe]})
    api.post("/face/v1.0/group", 200, json_body={"faceIds": [probe, other["faceId"]]})
    api.post("/face/v1.0/group", 400, json_body={"faceIds": "x"})
    api.post("/face/v1.0/group", 404, json_body={"faceIds": [str(uuid.uuid4())]})

    for id_field, (list_id, face_id) in lists.items():
        kind = "facelists" if id_field == "faceListId" else "largefacelists"
        base = f"/face/v1.0/{kind}/{list_id}"
        _delete(api, f"{base}/persistedfaces/{face_id}", f"/face/v1.0/{kind}/Bad Id/persistedfaces/{face_id}")
        _delete(api, base, f"/face/v1.0/{kind}/Bad Id")


def _delete(api: CheckedClient, path: str, under_a_bad_id: str) -> None:
    """Delete: 200, then 404 as it is gone; and 400 for the same path under an invalid group or list id."""
    api.delete(path, 200)
    api.delete(path, 404)
    api.delete(under_a_bad_id, 400)


def _deletes(s: Scenario, group: str, persons: dict[str, str], kind: GroupKind = PERSON_GROUP) -> None:
    api = s.api
    collection = f"/face/v1.0/{kind.route}"
    base = f"{collection}/{group}"
    biden = f"{base}/persons/{persons['biden']}"
    face = api.get(biden, 200).json()["persistedFaceIds"][0]
    _delete(
        api, f"{biden}/persistedfaces/{face}", f"{collection}/Bad Id/persons/{persons['biden']}/persistedfaces/{face}"
    )
    _delete(api, biden, f"{collection}/Bad Id/persons/{persons['biden']}")
    _delete(api, base, f"{collection}/Bad Id")


# -- every operation at once, for the answers every route can give ----------------------------------
def _sample(operation: Operation, photo: bytes, operation_id: str, visit_id: str) -> tuple[str, dict[str, Any]]:
    """A well-formed request to the operation (its ids need not exist): it gets past the checks of the
    input to the storage or the Face API behind."""
    ids = {
        "apiVersion": "v1.0",
        "personGroupId": "g-sample",
        "largePersonGroupId": "g-sample",
        "enrollmentId": str(uuid.uuid4()),
        "operationId": operation_id,
        "visitId": visit_id,
    }
    path = re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1)) or str(uuid.uuid4()), operation.path)
    image = {"data": photo, "content_type": "application/octet-stream"}
    bodies: dict[str, dict[str, Any]] = {
        **{f"create_{g}": {"json_body": {"name": "sample"}} for g in ("person_group", "large_person_group")},
        **{f"update_{g}": {"json_body": {"name": "sample"}} for g in ("person_group", "large_person_group")},
        **{f"{verb}_{p}person": {"json_body": {"name": "sample"}} for verb in ("create", "update") for p in PREFIXES},
        **{f"add_{p}person_face": image for p in PREFIXES},
        **{f"update_{p}person_face": {"json_body": {"userData": "sample"}} for p in PREFIXES},
        "detect": image,
        "identify": {"json_body": {"faceIds": [str(uuid.uuid4())], "personGroupId": "g-sample"}},
        "verify": {"json_body": {"faceId1": str(uuid.uuid4()), "faceId2": str(uuid.uuid4())}},
        "recognize_frame": {**image, "params": {"personGroupId": "g-sample", "cameraId": "c1"}},
        "create_face_list": {"json_body": {"name": "sample"}},
        "update_face_list": {"json_body": {"name": "sample"}},
        "add_face_list_face": image,
        "create_large_face_list": {"json_body": {"name": "sample"}},
        "update_large_face_list": {"json_body": {"name": "sample"}},
        "add_large_face_list_face": image,
        "update_large_face_list_face": {"json_body": {"userData": "sample"}},
        "find_similar": {"json_body": {"faceId": str(uuid.uuid4()), "faceIds": [str(uuid.uuid4())]}},
        "group": {"json_body": {"faceIds": [str(uuid.uuid4())]}},
        "name_visit": {"json_body": {"name": "sample"}},
        "put_webhook": {"json_body": {"url": "http://127.0.0.1:9/hook"}},
        "start_enrollment": {
            "data": zip_of({"sample/1.jpg": photo}),
            "content_type": "application/zip",
            "params": {"personGroupId": "g-sample"},
        },
    }
    return path, bodies.get(operation.id, {})


def _every_operation(s: Scenario, status: int, key: str | None = KEY) -> None:
    """Each operation that declares `status`, sent its sample request: each must answer it."""
    api = CheckedClient(s.api.answers, key)
    for operation in s.api.answers.document.operations.values():
        if status in operation.statuses():
            path, kw = _sample(operation, s.photo("scenes/obama1.jpg"), s.operation_id, s.visit_id)
            api.request(operation.method.upper(), path, status, **kw)


def _every_face_operation_at_an_unknown_version(s: Scenario) -> None:
    """404 from every route of the Face API asked for a version this service does not speak."""
    for operation in s.api.answers.document.operations.values():
        if "{apiVersion}" in operation.path:
            path, kw = _sample(operation, s.photo("scenes/obama1.jpg"), s.operation_id, s.visit_id)
            s.api.request(operation.method.upper(), path.replace("/face/v1.0/", "/face/v9.9/"), 404, **kw)


def _too_large(s: Scenario) -> None:
    """413: a body over the host's limit, refused by the host before any function runs."""
    answers = s.api.answers
    host = FunctionsWsgiApp(router(), SMALL_BODY_LIMIT)
    for operation in answers.document.operations.values():
        if 413 not in operation.statuses():
            continue
        assert operation.has_body, f"{operation.id} declares 413 and takes no body"
        path, kw = _sample(operation, s.photo("scenes/obama1.jpg"), s.operation_id, s.visit_id)
        body = b"x" * (SMALL_BODY_LIMIT + 1)
        environ = {
            "REQUEST_METHOD": operation.method.upper(),
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "CONTENT_TYPE": kw.get("content_type", JSON),
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_OCP_APIM_SUBSCRIPTION_KEY": KEY,
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "7071",
        }
        started: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], started=started) -> None:
            started.update(status=int(status.split()[0]), headers=dict(headers))

        data = b"".join(host(environ, start_response))
        headers = started["headers"]
        mimetype = headers.get("Content-Type", "").split(";")[0]
        reply = Reply(started["status"], data, {k: v for k, v in headers.items() if k != "Content-Type"}, mimetype)
        answers.check(operation.method.upper(), path, reply)
        assert reply.status == 413, f"{operation.id}: {reply.status} {data[:200]!r}"


def _azure_face_api_failures(s: Scenario, env: pytest.MonkeyPatch) -> None:
    """FACE_ENGINE=azure: the Face API behind throttling for good (429), refusing the app's key (502),
    and not reachable (503)."""
    env.setenv("FACE_ENGINE", "azure")
    env.setenv("AZURE_FACE_KEY", "the-app-s-key-to-azure")
    # The transport's own retries of a refused connection, with backoff, change the time, not the answer.
    env.setattr(azure_client, "TRANSPORT_RETRIES", 0)
    throttling = FaceApiProxy("http://127.0.0.1:9", retry_after=0)
    refusing = FaceApiProxy("http://127.0.0.1:9", entra_key="only-tokens-are-accepted")
    try:
        throttling.throttle(10**6)
        for status, endpoint in ((429, throttling.url), (502, refusing.url), (503, f"http://127.0.0.1:{free_port()}")):
            env.setenv("AZURE_FACE_ENDPOINT", endpoint)
            _every_operation(s, status)
        _every_operation(s, 501)  # a persisted face's photo: Azure keeps none, refused without asking it
    finally:
        throttling.close()
        refusing.close()


@pytest.fixture(scope="module")
def answers(testdata, tmp_path_factory) -> Iterator[Answers]:
    with pytest.MonkeyPatch.context() as env, photo_server(testdata) as photos_url:
        use_local_app(env, KEY, tmp_path_factory.mktemp("openapi-answers"))
        env.setenv("FACE_IMAGE_URL_ALLOWED_HOSTS", "127.0.0.1")
        spec = InProcessClient(KEY).get("/api/openapi.json").json()
        answers = Answers(Document(spec))
        worker = queue_worker(current_runtime().storage)
        s = Scenario(CheckedClient(answers), testdata, worker)

        s.api.get("/api/openapi.json", 200)
        group, persons = _groups_persons_and_faces(s)
        large, large_persons = _groups_persons_and_faces(s, LARGE_PERSON_GROUP)
        _detect_identify_verify(s, group, persons, large, large_persons)
        _face_lists_and_similarity(s, photos_url)
        _frames_and_sightings(s, group)
        _unknown_visitors(s, group)
        _visits(s)
        _enrollments(s)
        _webhooks(s)
        _deletes(s, group, persons)
        _deletes(s, large, large_persons, LARGE_PERSON_GROUP)
        _every_face_operation_at_an_unknown_version(s)

        _every_operation(s, 401, key=None)
        _every_operation(s, 401, key="wrong-key")
        _too_large(s)
        with pytest.MonkeyPatch.context() as broken:
            broken.setenv("FACE_DETECTOR", "no-such-detector")  # a bad setting: every route answers 500
            _every_operation(s, 500)
        with pytest.MonkeyPatch.context() as azure:
            _azure_face_api_failures(s, azure)
        yield answers


# -- the checks ------------------------------------------------------------------------------------
def test_every_answer_is_valid_against_the_document(answers):
    assert not answers.problems, "\n".join(answers.problems)


def test_every_operation_of_the_document_was_exercised(answers):
    assert set(answers.seen) == set(answers.document.operations)


def _missing(answers: Answers, success: bool) -> list[str]:
    missing = []
    for operation in answers.document.operations.values():
        declared = {s for s in operation.statuses() if (s < 400) == success}
        missing += [f"{operation.id} {status}" for status in sorted(declared - answers.seen[operation.id])]
    return missing


def test_every_declared_success_status_was_answered(answers):
    assert not _missing(answers, success=True)


def test_every_declared_error_status_was_answered(answers):
    assert not _missing(answers, success=False)


def test_every_operation_answered_an_error_besides_the_key_check(answers):
    for operation_id, statuses in answers.seen.items():
        assert {s for s in statuses if s >= 400} - {401}, operation_id


def _answer_schemas(document: Document) -> list[tuple[str, dict[str, Any]]]:
    """(where, schema) of every answer schema, components they use included, but the document's own."""
    schemas = []
    for operation in document.operations.values():
        if operation.id == "openapi_document":
            continue
        for status, response in operation.responses.items():
            for media_type, content in response.get("content", {}).items():
                schemas.append((f"{operation.id} {status} {media_type}", content["schema"]))
    return schemas


def _objects(schema: Any, components: dict[str, Any], where: str, seen: set[str]) -> list[tuple[str, dict]]:
    if not isinstance(schema, dict):
        return []
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name in seen:
            return []
        seen.add(name)
        return _objects(components[name], components, name, seen)
    found = [(where, schema)] if schema.get("type") == "object" else []
    for key, sub in schema.get("properties", {}).items():
        found += _objects(sub, components, f"{where}.{key}", seen)
    for key in ("items", "additionalProperties"):
        found += _objects(schema.get(key), components, f"{where}.{key}", seen)
    return found


def test_every_answer_object_is_closed(answers):
    """A new field in an answer must fail the validation: every object of every answer is closed, with
    `additionalProperties` false or a schema (a map), and its always-present fields required."""
    components = answers.document.spec["components"]["schemas"]
    seen: set[str] = set()
    open_objects = [
        where
        for start, schema in _answer_schemas(answers.document)
        for where, obj in _objects(schema, components, start, seen)
        if "additionalProperties" not in obj
    ]
    assert not open_objects


def _resolved(document: Document, schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document.spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_a_new_or_missing_field_fails_the_validation(answers):
    """The validation bites: each operation's real success answer (its first item, for a list) with a field
    added, and with each of its required fields removed in turn."""
    document = answers.document
    checked = set()
    for (operation_id, status), bodies in answers.bodies.items():
        operation = document.operations[operation_id]
        body = next((b for b in bodies if b), None)
        if status >= 400 or operation_id == "openapi_document" or body is None:
            continue
        pointer = document.answer_pointer(operation, status)
        schema = _resolved(document, operation.responses[str(status)]["content"][JSON]["schema"])
        target = body[0] if isinstance(body, list) else body
        if isinstance(body, list):
            schema = _resolved(document, schema["items"])
        target["unexpectedField"] = 1
        assert document.errors(pointer, body), f"{operation_id}: a new field is accepted"
        del target["unexpectedField"]
        for name in schema["required"]:
            value = target.pop(name)
            assert document.errors(pointer, body), f"{operation_id}: {name} missing is accepted"
            target[name] = value
        checked.add(operation_id)
    answering_json = {
        o.id for o in document.operations.values() if JSON in o.responses[str(min(o.statuses()))].get("content", {})
    }
    assert checked == answering_json - {"openapi_document"}
