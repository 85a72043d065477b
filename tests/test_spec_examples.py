"""Every example request of Microsoft's Face v1.0 OpenAPI document (../shared/specs/face-v1.0/examples),
sent over real HTTP to the service on the local engine, each answer checked against the example's status
and validated against the spec's own response schema (Swagger 2.0 definitions, jsonschema draft 4).

What is substituted, and why:
- The ids the service makes (personId, persistedFaceId, faceId) are replaced by real ones: before each
  example, the groups, persons, faces and lists it names are made (or kept) with real photos, and the
  faceIds of a body are faces detected from real photos. Group and list ids are the example's own.
- Images are real photos: `Image` as the bytes, `ImageUrl` as a URL of a loopback HTTP server serving
  the test photos (allowed by FACE_IMAGE_URL_ALLOWED_HOSTS). `targetFace` is the photo's face rectangle
  (the examples' 10,10,100,100 is a placeholder with no face in it).
- Detect's examples ask for attributes Azure retired (age, gender, emotion, ...): the request as written
  must be refused with BadArgument, and it is then sent with the attributes the engine measures.
- A null in an answer stands for an absent optional property (as AutoRest's clients read it): nulls are
  dropped before validation, so a required property that is null still fails.
- Enums are compared without regard to case, as the SDKs read them: the spec writes blurLevel `Low` and
  exposureLevel `GoodExposure`, the service answers `low` and `goodExposure`, as Azure's own answers do.
- RecognitionModel's enum gains `recognition_04`: it is an open enum (`modelAsString`), and the spec
  predates that model, Azure's default since 2021.

Skipped: the Snapshot examples (issue 11 leaves Snapshot out: it copies groups between Azure
subscriptions). Every other example must answer as written.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from .support.photo_server import photo_server
from .support.service import start_server, stop_server

SPEC_DIR = Path(__file__).resolve().parents[2] / "shared" / "specs" / "face-v1.0"
SPEC_URI = "urn:face-v1.0"
KEY = f"key-{uuid.uuid4().hex}"
V1 = "/face/v1.0"
ADD_PHOTO = "people/obama/1.jpg"
DETECT_PHOTO = "scenes/two_people.jpg"
SUPPORTED_ATTRIBUTES = ("headPose", "blur", "exposure")
RESULTS: Counter[str] = Counter()


class Unavailable(Exception):
    """A setup step the service refused: the example cannot be prepared."""


@dataclass(frozen=True)
class Example:
    name: str
    method: str
    path: str  # the spec's path template, /persongroups/{personGroupId}...
    parameters: dict[str, Any]
    status: int
    schema: dict[str, Any] | None  # the response schema of that status, or None for no body


def _spec() -> dict[str, Any]:
    return json.loads((SPEC_DIR / "Face.json").read_text())


def _examples() -> list[Example]:
    spec = _spec()
    found = []
    for raw_path, operations in {**spec["paths"], **spec["x-ms-paths"]}.items():
        for method, operation in operations.items():
            if method not in ("get", "put", "post", "patch", "delete"):
                continue
            for reference in operation.get("x-ms-examples", {}).values():
                file = SPEC_DIR / reference["$ref"].lstrip("./")
                example = json.loads(file.read_text())
                status = next(iter(example["responses"]))
                response = operation["responses"][status]
                found.append(
                    Example(
                        file.stem,
                        method.upper(),
                        raw_path.split("?")[0],
                        example["parameters"],
                        int(status),
                        response.get("schema"),
                    )
                )
    return sorted(found, key=lambda e: e.name)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _enum_without_case(validator: Any, enums: list[Any], instance: Any, schema: dict[str, Any]) -> Iterator[Any]:
    folded = [e.lower() if isinstance(e, str) else e for e in enums]
    if (instance.lower() if isinstance(instance, str) else instance) not in folded:
        yield jsonschema.ValidationError(f"{instance!r} is not one of {enums}")


SwaggerValidator = jsonschema.validators.extend(jsonschema.Draft4Validator, {"enum": _enum_without_case})


class SpecValidator:
    def __init__(self, spec: dict[str, Any]):
        spec = copy.deepcopy(spec)
        spec["definitions"]["RecognitionModel"]["enum"].append("recognition_04")
        self.registry = Registry().with_resource(SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT4))

    def errors(self, schema: dict[str, Any], answer: Any) -> list[str]:
        schema = copy.deepcopy(schema)
        if "$ref" in schema:
            schema["$ref"] = SPEC_URI + schema["$ref"]
        validator = SwaggerValidator(schema, registry=self.registry, format_checker=jsonschema.FormatChecker())
        return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(_without_nulls(answer))]


class World:
    """The service, and the groups, persons, faces and lists the examples name, made on demand."""

    def __init__(self, url: str, photos_url: str, testdata: Path):
        self.url, self.photos_url, self.testdata = url, photos_url, testdata
        self.session = requests.Session()
        self.session.headers["Ocp-Apim-Subscription-Key"] = KEY
        self.detect_photos = sorted(p.relative_to(testdata).as_posix() for p in (testdata / "people").glob("*/*"))

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        return self.session.request(method, f"{self.url}{V1}{path}", timeout=60, **kw)

    def must(self, method: str, path: str, *ok: int, **kw: Any) -> requests.Response:
        reply = self.call(method, path, **kw)
        if reply.status_code not in ok:
            raise Unavailable(f"{method} {path}: {reply.status_code} {reply.text[:200]}")
        return reply

    def photo(self, name: str) -> bytes:
        return (self.testdata / name).read_bytes()

    def face_rectangle(self, name: str) -> str:
        faces = self.must("POST", "/detect", 200, data=self.photo(name), params={"returnFaceId": "false"}).json()
        box = faces[0]["faceRectangle"]
        return f"{box['left']},{box['top']},{box['width']},{box['height']}"

    def detect_face_id(self, photo: str) -> str:
        return self.must("POST", "/detect", 200, data=self.photo(photo)).json()[0]["faceId"]

    # -- groups (persongroups, largepersongroups) and their persons --------------------------------
    def group(self, kind: str, group_id: str) -> None:
        self.must("PUT", f"/{kind}/{group_id}", 200, 409, json={"name": group_id})

    def person(self, kind: str, group_id: str) -> str:
        """A person with one face in the group (the first one listed, or a new one)."""
        self.group(kind, group_id)
        persons = [p for p in self.must("GET", f"/{kind}/{group_id}/persons", 200).json() if p["persistedFaceIds"]]
        if persons:
            return persons[0]["personId"]
        person_id = self.must("POST", f"/{kind}/{group_id}/persons", 200, json={"name": "obama"}).json()["personId"]
        self.must("POST", f"/{kind}/{group_id}/persons/{person_id}/persistedfaces", 200, data=self.photo(ADD_PHOTO))
        return person_id

    def person_face(self, kind: str, group_id: str) -> tuple[str, str]:
        person_id = self.person(kind, group_id)
        person = self.must("GET", f"/{kind}/{group_id}/persons/{person_id}", 200).json()
        return person_id, person["persistedFaceIds"][0]

    def train(self, kind: str, list_or_group: str) -> None:
        self.must("POST", f"/{kind}/{list_or_group}/train", 202)
        deadline = time.monotonic() + 60
        while (status := self.must("GET", f"/{kind}/{list_or_group}/training", 200).json()["status"]) == "running":
            assert time.monotonic() < deadline, f"{kind}/{list_or_group}: training did not finish"
            time.sleep(0.1)
        assert status == "succeeded", status

    # -- face lists (facelists, largefacelists) -------------------------------------------------
    def face_list(self, kind: str, list_id: str) -> str:
        """A persisted face of the list (made with the list if need be); a large face list is trained."""
        self.must("PUT", f"/{kind}/{list_id}", 200, 409, json={"name": list_id})
        if kind == "facelists":
            faces = self.must("GET", f"/{kind}/{list_id}", 200).json()["persistedFaces"]
        else:
            faces = self.must("GET", f"/{kind}/{list_id}/persistedfaces", 200).json()
        if faces:
            return faces[0]["persistedFaceId"]
        added = self.must("POST", f"/{kind}/{list_id}/persistedfaces", 200, data=self.photo(ADD_PHOTO)).json()
        if kind == "largefacelists":
            self.train(kind, list_id)
        return added["persistedFaceId"]

    def absent(self, path: str) -> None:
        """Make room for a create example: the resource it creates must not exist yet."""
        self.call("DELETE", path)


def _kind(path: str) -> str:
    return path.split("/")[1]


def prepare(world: World, example: Example) -> dict[str, Any]:
    """The example's request, with real ids, photos and URLs: keyword arguments of requests."""
    params = example.parameters
    path = example.path
    kind = _kind(path)
    query: dict[str, str] = {}
    kw: dict[str, Any] = {}
    route: dict[str, str] = {}
    for name in ("personGroupId", "largePersonGroupId", "faceListId", "largeFaceListId"):
        if f"{{{name}}}" in path:
            route[name] = params[name]
    owner = next(iter(route.values()), None)
    creates = example.method == "PUT"  # groups and lists are created with PUT
    if owner is not None and creates:
        world.absent(f"/{kind}/{owner}")
    elif owner is not None and kind in ("facelists", "largefacelists"):
        face = world.face_list(kind, owner)
        if "{persistedFaceId}" in path:
            route["persistedFaceId"] = face
    elif owner is not None:
        world.group(kind, owner)
        if "{persistedFaceId}" in path:
            route["personId"], route["persistedFaceId"] = world.person_face(kind, owner)
        elif "{personId}" in path:
            route["personId"] = world.person(kind, owner)
        if path.endswith("/training"):
            world.train(kind, owner)
    for name, value in params.items():
        if name in route or name in ("Endpoint", "Content-Type", "Ocp-Apim-Subscription-Key", "body"):
            continue
        if name == "Image":
            kw["data"] = world.photo(ADD_PHOTO if "persistedfaces" in path else DETECT_PHOTO)
            kw["headers"] = {"Content-Type": "application/octet-stream"}
        elif name == "ImageUrl":
            kw["json"] = {"url": f"{world.photos_url}/{ADD_PHOTO if 'persistedfaces' in path else DETECT_PHOTO}"}
        elif name == "targetFace":
            query[name] = world.face_rectangle(ADD_PHOTO)
        elif isinstance(value, list):
            query[name] = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            query[name] = str(value).lower()
        else:
            query[name] = str(value)
    if "body" in params:
        kw["json"] = body(world, params["body"])
    url_path = path
    for name, value in route.items():
        url_path = url_path.replace(f"{{{name}}}", value)
    return {"path": url_path, "params": query, **kw}


def body(world: World, example_body: dict[str, Any]) -> dict[str, Any]:
    """An example's JSON body with real faceIds, persons and lists behind the names it gives."""
    data = dict(example_body)
    photos = iter(world.detect_photos)
    if "faceIds" in data:  # each example faceId a face of another photo
        data["faceIds"] = [world.detect_face_id(next(photos)) for _ in data["faceIds"]]
    for field in ("faceId", "faceId1", "faceId2"):
        if field in data:
            data[field] = world.detect_face_id(next(photos))
    for field, kind in (("personGroupId", "persongroups"), ("largePersonGroupId", "largepersongroups")):
        if field in data:
            if "personId" in data:
                data["personId"] = world.person(kind, data[field])
            else:
                world.person(kind, data[field])
                world.train(kind, data[field])
    for field, kind in (("faceListId", "facelists"), ("largeFaceListId", "largefacelists")):
        if field in data:
            world.face_list(kind, data[field])
    return data


@pytest.fixture(scope="module")
def world(testdata, tmp_path_factory) -> Iterator[World]:
    if not (SPEC_DIR / "Face.json").is_file():
        pytest.skip(f"the Face v1.0 spec is not at {SPEC_DIR}")
    folder = tmp_path_factory.mktemp("spec-examples")
    with photo_server(testdata) as photos_url:
        env = {
            "FACE_API_KEY": KEY,
            "STORAGE_BACKEND": "local",
            "STORAGE_DIR": str(folder / "data"),
            "FACE_IMAGE_URL_ALLOWED_HOSTS": "127.0.0.1",
        }
        process, url = start_server(env, folder / "server.log")
        try:
            yield World(url, photos_url, testdata)
        finally:
            stop_server(process)


@pytest.fixture(scope="module")
def validator() -> SpecValidator:
    return SpecValidator(_spec())


EXAMPLES = _examples() if (SPEC_DIR / "Face.json").is_file() else []


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_spec_example(example: Example, world: World, validator: SpecValidator):
    if "Snapshot" in example.name:
        RESULTS["skipped: Snapshot"] += 1
        pytest.skip("Snapshot is out of scope (issue 11): it copies groups and lists between Azure subscriptions")
    request = prepare(world, example)
    if "returnFaceAttributes" in request["params"]:
        as_written = world.call(example.method, request["path"], params=request["params"], data=world.photo(ADD_PHOTO))
        assert (as_written.status_code, as_written.json()["error"]["code"]) == (400, "BadArgument")
        request["params"]["returnFaceAttributes"] = ",".join(SUPPORTED_ATTRIBUTES)
    path = request.pop("path")
    reply = world.call(example.method, path, **request)
    RESULTS["sent"] += 1
    assert reply.status_code == example.status, f"{example.method} {path}: {reply.status_code} {reply.text[:300]}"
    if example.schema is None:
        assert not reply.content, reply.content[:200]
    else:
        problems = validator.errors(example.schema, reply.json())
        assert not problems, "\n".join(problems)
    RESULTS["validated"] += 1


def test_every_example_outside_snapshot_was_validated():
    """The counts, printed for the report: every example but Snapshot's is validated here."""
    if not EXAMPLES:
        pytest.skip("the Face v1.0 spec is not there")
    mine = [e for e in EXAMPLES if "Snapshot" not in e.name]
    print(f"\nspec examples: {len(EXAMPLES)} in all, {dict(RESULTS)}")
    assert RESULTS["validated"] >= len(mine)
