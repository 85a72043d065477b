"""The OpenAPI 3 document of the HTTP functions, served at /api/openapi.json. Tests check that it lists
exactly the routes the app registers, and that every answer of every route, success and error, is valid
against the schema declared here for its operation and status (tests/test_openapi_answers.py): the
app's own objects are closed (`additionalProperties: false`), so a field added to an answer and not
here fails that test."""

from __future__ import annotations

import functools
from typing import Any

import azure.functions as func

from ..events.records import KINDS as EVENT_KINDS
from ..events.webhooks import LATEST_DEAD_LETTERS
from ..faceapi.base import DETECTION_MODELS, MAX_IDENTIFY_FACES, RECOGNITION_MODELS
from ..faceapi.face_lists import ListKind
from ..faceapi.group_kinds import GROUP_KINDS, LARGE_PERSON_GROUP, PERSON_GROUP, GroupKind
from ..features.sightings import CAMERA_PATTERN, MAX_LOCATION
from ..runtime import Runtime
from ..visits.records import NAMED_BY_USER
from ..visits.store import VISIT_ID_PATTERN
from . import versions
from .face_operations import SUPPORTED_ATTRIBUTES
from .face_photos import PHOTO_HEADERS, photo_route
from .http import endpoint, json_response
from .visitors import MAX_SIMILAR

bp = func.Blueprint()

FACE = "/" + versions.FACE


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _query(
    name: str, kind: str = "string", description: str = "", required: bool = False, **schema: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": {"type": kind, **schema},
        "description": description,
    }


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def _object(properties: dict[str, Any], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """A closed object of the app's: every property is required but the `optional` ones, and no other is allowed."""
    required = [name for name in properties if name not in optional]
    return {
        "type": "object",
        **({"required": required} if required else {}),
        "properties": properties,
        "additionalProperties": False,
    }


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI 3.0's null: `nullable: true`, and null among the values of an enum."""
    schema = {**schema, "nullable": True}
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    return schema


JSON = "application/json"
BINARY = {"type": "string", "format": "binary"}
IMAGE = {"application/octet-stream": {"schema": BINARY}}
JPEG_IMAGE = {**BINARY, "description": "A JPEG image (image/jpeg)."}  # an answer
PHOTO = {**BINARY, "description": "The photo as uploaded; its type read from its bytes."}  # an answer, of these types
PHOTO_TYPES = ("image/jpeg", "image/png", "image/bmp", "image/gif", "image/webp")
IMAGE_OR_URL = {**IMAGE, "application/json": {"schema": {"$ref": "#/components/schemas/ImageUrl"}}}
# Answered by every operation: the key check and the catch-all of unexpected failures.
ALWAYS = (401, 500)
# FACE_ENGINE=azure: the Face API routes and the frame route call the Azure Face API.
AZURE = (429, 502, 503)
_PAGING = [_query("start"), _query("top", "integer", minimum=1, maximum=1000)]
_ADD_FACE_QUERY = [
    _query("userData"),
    _query("targetFace", description="left,top,width,height"),
    _query("detectionModel", enum=list(DETECTION_MODELS)),
]
Operation = tuple[str, str, str, str, list, dict | None, int, dict | None, tuple[int, ...]]


def _group_operations(kind: GroupKind) -> list[Operation]:
    """The routes of api/person_groups.py and api/persons.py for one kind of group."""
    groups = f"{FACE}/{kind.route}"
    group = f"{groups}/{{{kind.id_name}}}"
    person = group + "/persons/{personId}"
    face = person + "/persistedfaces/{persistedFaceId}"
    g, p = kind.snake, "" if kind == PERSON_GROUP else f"{kind.snake}_"
    label = "large person group" if kind == LARGE_PERSON_GROUP else "person group"
    schema = "LargePersonGroup" if kind == LARGE_PERSON_GROUP else "PersonGroup"
    paging = _PAGING
    return [
        (
            "put",
            group,
            f"create_{g}",
            f"Create a {label}.",
            [],
            {JSON: {"schema": _ref("NewPersonGroup")}},
            200,
            None,
            (400, 404, 409, *AZURE),
        ),
        (
            "get",
            group,
            f"get_{g}",
            f"Get a {label}.",
            [_query("returnRecognitionModel", "boolean")],
            None,
            200,
            _ref(schema),
            (400, 404, *AZURE),
        ),
        (
            "patch",
            group,
            f"update_{g}",
            "Update a group's name or userData.",
            [],
            {JSON: {"schema": _ref("NameAndUserData")}},
            200,
            None,
            (400, 404, *AZURE),
        ),
        (
            "delete",
            group,
            f"delete_{g}",
            "Delete a group with its persons and faces (409 while it trains).",
            [],
            None,
            200,
            None,
            (400, 404, 409, *AZURE),
        ),
        (
            "get",
            groups,
            f"list_{g}s",
            f"List {label}s.",
            [*paging, _query("returnRecognitionModel", "boolean")],
            None,
            200,
            _array(_ref(schema)),
            (400, 404, *AZURE),
        ),
        (
            "post",
            group + "/train",
            f"train_{g}",
            "Queue the group's training (202 at once; from v1.1 with an Operation-Location).",
            [],
            None,
            202,
            None,
            (400, 404, *AZURE),
        ),
        (
            "get",
            group + "/training",
            f"get_{g}_training_status",
            "The group's training status (404 NotTrained if never trained).",
            [],
            None,
            200,
            _ref("TrainingStatus"),
            (400, 404, *AZURE),
        ),
        (
            "post",
            group + "/persons",
            f"create_{p}person",
            "Create a person.",
            [],
            {JSON: {"schema": _ref("NewPerson")}},
            200,
            _ref("CreatedPerson"),
            (400, 404, *AZURE),
        ),
        (
            "get",
            group + "/persons",
            f"list_{p}persons",
            "List the group's persons.",
            paging,
            None,
            200,
            _array(_ref("Person")),
            (400, 404, *AZURE),
        ),
        ("get", person, f"get_{p}person", "Get a person.", [], None, 200, _ref("Person"), (400, 404, *AZURE)),
        (
            "patch",
            person,
            f"update_{p}person",
            "Update a person's name or userData.",
            [],
            {JSON: {"schema": _ref("NameAndUserData")}},
            200,
            None,
            (400, 404, *AZURE),
        ),
        (
            "delete",
            person,
            f"delete_{p}person",
            "Delete a person and their faces.",
            [],
            None,
            200,
            None,
            (400, 404, *AZURE),
        ),
        (
            "post",
            person + "/persistedfaces",
            f"add_{p}person_face",
            "Add a face photo to a person, from the image or its URL (v1.2: 202 with an Operation-Location).",
            _ADD_FACE_QUERY,
            IMAGE_OR_URL,
            200,
            _ref("AddedFace"),
            (202, 400, 404, *AZURE),
        ),
        (
            "get",
            face,
            f"get_{p}person_face",
            "Get a persisted face.",
            [],
            None,
            200,
            _ref("PersistedFace"),
            (400, 404, *AZURE),
        ),
        (
            "patch",
            face,
            f"update_{p}person_face",
            "Update a persisted face's userData.",
            [],
            {JSON: {"schema": _ref("UserData")}},
            200,
            None,
            (400, 404, *AZURE),
        ),
        ("delete", face, f"delete_{p}person_face", "Delete a persisted face.", [], None, 200, None, (400, 404, *AZURE)),
        (
            "get",
            "/" + photo_route(kind),
            f"get_{p}person_face_photo",
            "The photo a persisted face was enrolled from, as uploaded (not a Face API route: Azure keeps no photo; "
            "FACE_ENGINE=azure answers 501 PhotoNotKept).",
            [],
            None,
            200,
            PHOTO,
            (400, 404, 501),
        ),
    ]


def _list_operations(kind: ListKind) -> list[Operation]:
    """The routes of api/face_lists.py for one kind of face list."""
    lists = f"{FACE}/{kind.route}"
    one = f"{lists}/{{{kind.id_name}}}"
    face = one + "/persistedfaces/{persistedFaceId}"
    n, label, small = kind.snake, kind.label.lower(), kind is ListKind.FACE_LIST
    with_model = [_query("returnRecognitionModel", "boolean")]
    # fmt: off
    operations: list[Operation] = [
        ("put", one, f"create_{n}", f"Create a {label}.", [], {JSON: {"schema": _ref("NewFaceList")}}, 200, None, (400, 409, *AZURE)),
        ("get", one, f"get_{n}", f"Get a {label}" + (" with its faces." if small else "."), with_model, None, 200, _ref("FaceList" if small else "LargeFaceList"), (400, 404, *AZURE)),
        ("patch", one, f"update_{n}", f"Update a {label}'s name or userData.", [], {JSON: {"schema": _ref("NameAndUserData")}}, 200, None, (400, 404, *AZURE)),
        ("delete", one, f"delete_{n}", f"Delete a {label} and its faces.", [], None, 200, None, (400, 404, *AZURE)),
        ("get", lists, f"list_{n}s", f"List {label}s (without their faces).", [*with_model, *_PAGING], None, 200, _array(_ref("FaceListInfo" if small else "LargeFaceList")), (400, *AZURE)),
        ("delete", face, f"delete_{n}_face", f"Delete a face of a {label}.", [], None, 200, None, (400, 404, *AZURE)),
    ]
    if small:
        return [*operations, ("post", one + "/persistedfaces", "add_face_list_face", "Add a face to a face list, from the image or its URL.", _ADD_FACE_QUERY, IMAGE_OR_URL, 200, _ref("AddedFace"), (400, 404, *AZURE))]
    return [
        *operations,
        ("post", one + "/persistedfaces", "add_large_face_list_face", "Add a face to a large face list, from the image or its URL (v1.2: 202 with an Operation-Location).", _ADD_FACE_QUERY, IMAGE_OR_URL, 200, _ref("AddedFace"), (202, 400, 404, *AZURE)),
        ("get", one + "/persistedfaces", "list_large_face_list_faces", "List a large face list's faces, in persistedFaceId order.", _PAGING, None, 200, _array(_ref("PersistedFace")), (400, 404, *AZURE)),
        ("get", face, "get_large_face_list_face", "Get a face of a large face list.", [], None, 200, _ref("PersistedFace"), (400, 404, *AZURE)),
        ("patch", face, "update_large_face_list_face", "Update a face's userData.", [], {JSON: {"schema": _ref("UserData")}}, 200, None, (400, 404, *AZURE)),
        ("post", one + "/train", "train_large_face_list", "Queue the large face list's training (202 at once; from v1.1 with an Operation-Location).", [], None, 202, None, (400, 404, *AZURE)),
        ("get", one + "/training", "get_large_face_list_training_status", "The large face list's training status (404 LargeFaceListNotTrained before the first).", [], None, 200, _ref("TrainingStatus"), (400, 404, *AZURE)),
    ]
    # fmt: on


# HTTP functions for operators' tools, not API clients, left out of the document (README: Health, Metrics): a
# probe or Prometheus reads them, and health answers without a key, which the document's security denies.
OPERATOR_FUNCTIONS = ("health", "metrics")

# (method, path, operationId = function name, summary, query parameters, request body, success status, answer,
# error statuses besides 401 and 500 (and other successes); 413 is added to every operation with a body)
OPERATIONS: list[Operation] = [
    *_group_operations(PERSON_GROUP),
    *_group_operations(LARGE_PERSON_GROUP),
    *_list_operations(ListKind.FACE_LIST),
    *_list_operations(ListKind.LARGE_FACE_LIST),
    ("get", FACE + "/operations/{operationId}", "get_operation_status", "A long-running operation's status (v1.1 and later).", [], None, 200, _ref("OperationStatus"), (404, *AZURE)),
    ("post", FACE + "/detect", "detect", "Detect faces; each gets a faceId for identify and verify.", [_query("returnFaceId", "boolean"), _query("returnFaceLandmarks", "boolean"), _query("returnFaceAttributes", description=",".join(SUPPORTED_ATTRIBUTES)), _query("faceIdTimeToLive", "integer", minimum=60, maximum=86400), _query("returnRecognitionModel", "boolean"), _query("detectionModel", enum=list(DETECTION_MODELS)), _query("recognitionModel", enum=list(RECOGNITION_MODELS))], IMAGE_OR_URL, 200, _array(_ref("DetectedFace")), (400, *AZURE)),
    ("post", FACE + "/identify", "identify", "Identify detected faces against a trained group.", [], {JSON: {"schema": _ref("IdentifyBody")}}, 200, _array(_ref("IdentifyResult")), (400, 404, *AZURE)),
    ("post", FACE + "/verify", "verify", "Verify two faces, or a face against a person.", [], {JSON: {"schema": _ref("VerifyBody")}}, 200, _ref("VerifyResult"), (400, 404, *AZURE)),
    ("post", FACE + "/findsimilars", "find_similar", "Faces similar to a detected face, in a face list, a large face list or among detected faces.", [], {JSON: {"schema": _ref("FindSimilarBody")}}, 200, _array(_ref("SimilarFace")), (400, 404, *AZURE)),
    ("post", FACE + "/group", "group", "Divide detected faces into groups of similar faces, and a messy group.", [], {JSON: {"schema": _ref("GroupBody")}}, 200, _ref("GroupResult"), (400, 404, *AZURE)),
    ("post", "/api/frames", "recognize_frame", "Detect and identify a video frame in one call: each face with its track, the track's name (from all of its frames) and its visit.", [_query("personGroupId", required=True), _query("cameraId", required=True, pattern=CAMERA_PATTERN.pattern), _query("location", maxLength=MAX_LOCATION), _query("confidenceThreshold", "number", minimum=0, maximum=1)], {"image/jpeg": {"schema": BINARY}, **IMAGE}, 200, _ref("FrameResult"), (400, 404, *AZURE)),
    ("get", "/api/cameras", "list_cameras", "The cameras that posted a frame to this instance within LATEST_FRAME_SECONDS, the latest first (kept in memory only: with several instances, each knows the frames it took).", [], None, 200, _array(_ref("CameraFrame")), ()),
    ("get", "/api/cameras/{cameraId}/latest", "get_camera_latest", "The camera's latest frame's answer on this instance (its faces with their boxes, names, tracks and visits) and when it was taken; 404 NoRecentFrame when none is younger than LATEST_FRAME_SECONDS.", [], None, 200, _ref("LatestFrame"), (400, 404)),
    ("get", "/api/cameras/{cameraId}/latest.jpg", "get_camera_latest_jpeg", "The camera's latest frame on this instance, as posted (Cache-Control: no-store); 404 NoRecentFrame when none is younger than LATEST_FRAME_SECONDS.", [], None, 200, JPEG_IMAGE, (400, 404)),
    ("get", "/api/sightings", "list_sightings", "Faces seen on a UTC day, by person and camera, oldest first, paged (per-frame records: FRAME_RECORDS=on).", [_query("day", description="YYYYMMDD, default today", pattern=r"^\d{8}$"), _query("personId"), _query("cameraId"), _query("top", "integer", minimum=1, maximum=1000), _query("continuationToken")], None, 200, _ref("SightingsPage"), (400,)),
    ("post", "/api/visits/{visitId}/person", "name_visit", "Name an Unknown visit's visitor: its snapshot becomes a face of an existing person of the visit's group (personId) or of a new one (name, userData); then the group trains (train, default true).", [], {JSON: {"schema": _ref("NameVisitBody")}}, 200, _ref("NamedVisit"), (400, 404, 409, *AZURE)),
    ("get", "/api/visits/{visitId}/similar", "similar_visits", "Unknown visits of the same group whose face is likely the visit's visitor's (find-similar over the Unknown visitors' large face list), best first, within UNKNOWN_VISIT_RETENTION_DAYS.", [_query("top", "integer", minimum=1, maximum=MAX_SIMILAR, description="default 20"), _query("days", "integer", minimum=1, description="first seen in the last `days` UTC days, today included; at most UNKNOWN_VISIT_RETENTION_DAYS, its default")], None, 200, _ref("SimilarVisits"), (400, 404, *AZURE)),
    ("get", "/api/visits", "list_visits", "Visits first seen on a UTC day, in first-seen order, by person, camera and time, paged.", [_query("day", description="YYYYMMDD; default: the day of start or end, else today", pattern=r"^\d{8}$"), _query("personId"), _query("unknown", "boolean", description="true: only Unknown visitors; false: only named ones"), _query("cameraId", pattern=CAMERA_PATTERN.pattern), _query("start", format="date-time", description="first seen at or after (ISO 8601 with zone), within the day"), _query("end", format="date-time", description="first seen before, within the day"), _query("top", "integer", minimum=1, maximum=1000), _query("continuationToken")], None, 200, _ref("VisitsPage"), (400,)),
    ("get", "/api/visits/{visitId}", "get_visit", "One visit.", [], None, 200, _ref("Visit"), (400, 404)),
    ("get", "/api/visits/{visitId}/snapshot", "get_visit_snapshot", "The best face of a visit.", [], None, 200, JPEG_IMAGE, (400, 404)),
    ("get", "/api/events", "list_events", "Visit events (visit.started, visit.named, visit.ended) in the order they were written, after a cursor: poll with the previous answer's next to read only what is new.", [_query("after", description="the next of a previous answer; default: the start of today (UTC)"), _query("top", "integer", minimum=1, maximum=1000, description="default 100")], None, 200, _ref("EventsPage"), (400,)),
    ("post", "/api/enrollments", "start_enrollment", "Enroll a zip of photos (or a blob prefix) in the background.", [_query("personGroupId"), _query("train", "boolean")], {"application/zip": {"schema": BINARY}, JSON: {"schema": _ref("EnrollmentBody")}}, 202, _ref("Enrollment"), (400,)),
    ("get", "/api/enrollments/{enrollmentId}", "get_enrollment", "A bulk enrollment's progress and report.", [], None, 200, _ref("Enrollment"), (404,)),
    ("put", "/api/webhooks/{webhookId}", "put_webhook", "Subscribe a URL to visit events (or replace the subscription, its status kept): each event POSTed as JSON, signed with the secret (X-Signature-256), retried with backoff, dead-lettered after the last try.", [], {JSON: {"schema": _ref("WebhookBody")}}, 200, _ref("Webhook"), (400,)),
    ("get", "/api/webhooks", "list_webhooks", "Every webhook subscription (never their secrets).", [], None, 200, _array(_ref("Webhook")), ()),
    ("get", "/api/webhooks/{webhookId}", "get_webhook", "A webhook subscription and its delivery status: deliveries, failures, dead letters.", [], None, 200, _ref("WebhookWithStatus"), (400, 404)),
    ("delete", "/api/webhooks/{webhookId}", "delete_webhook", "Delete a webhook subscription; deliveries still queued for it are dropped.", [], None, 200, None, (400, 404)),
    ("get", "/api/openapi.json", "openapi_document", "This document.", [], None, 200, {"type": "object", "required": ["openapi", "info", "paths", "components"]}, ()),
]  # fmt: skip

ERRORS = {
    400: "Invalid input: BadArgument, InvalidImage, InvalidImageSize, InvalidURL, (Large)PersonGroupNotTrained, "
    "LargeFaceListNotTrained; identify answers an unknown group or faceId here too ((Large)PersonGroupNotFound, "
    "FaceNotFound), as Azure does.",
    401: 'Missing or wrong key (code "401").',
    404: "Not found: (Large)PersonGroupNotFound, PersonNotFound, PersistedFaceNotFound, FaceNotFound, FaceListNotFound, "
    "LargeFaceListNotFound, OperationNotFound, EnrollmentNotFound, VisitNotFound, WebhookNotFound, NoRecentFrame; (Large)PersonGroupNotTrained or "
    "LargeFaceListNotTrained for the training status of a group or list never trained; "
    'code "404" for an API version this service does not speak.',
    409: "(Large)PersonGroupExists, FaceListExists, LargeFaceListExists; (Large)PersonGroupTrainingNotFinished when "
    "deleting a group that trains; VisitAlreadyNamed when naming a visit that has a person, VisitNotClosed when naming a visit still open.",
    413: "The request body is larger than the host accepts (100 MB); the local host answers it as InvalidImageSize.",
    429: "FACE_ENGINE=azure: the Azure Face API still throttles this app after retries; Retry-After says when to try again.",
    500: "InternalServerError: an unexpected failure, or a bad setting; the details are logged, not answered.",
    501: "PhotoNotKept: FACE_ENGINE=azure keeps no photo of a persisted face (the Azure Face API keeps none).",
    502: "FACE_ENGINE=azure: the Azure Face API failed, or refused this app's credentials.",
    503: "FACE_ENGINE=azure: the Azure Face API cannot be reached (ServiceUnavailable).",
}


def _operation_location(required: bool) -> dict[str, Any]:
    where = "From v1.1 on: the" if not required else "The"
    return {
        "Operation-Location": {
            "description": f"{where} operation's status, /face/{{apiVersion}}/operations/{{operationId}}.",
            "required": required,
            "schema": {"type": "string"},
        }
    }


HEADERS: dict[tuple[int, str | None], dict[str, Any]] = {
    (202, "start_enrollment"): {"Location": {"description": "The job's address, /api/enrollments/{enrollmentId}.", "required": True, "schema": {"type": "string"}}},
    **{(202, f"train_{kind.snake}"): _operation_location(False) for kind in GROUP_KINDS},
    **{(202, f"add_{'' if kind == PERSON_GROUP else kind.snake + '_'}person_face"): _operation_location(True) for kind in GROUP_KINDS},
    (200, "get_camera_latest_jpeg"): {"Cache-Control": {"description": "no-store: a frame is personal data, and the next one replaces it.", "required": True, "schema": {"type": "string", "enum": ["no-store"]}}, "X-Frame-Time": {"description": "When the frame was taken: the time of GET .../latest's answer that goes with it.", "required": True, "schema": {"type": "string", "format": "date-time"}}},
    **{(200, f"get_{kind.person_function_prefix}person_face_photo"): {"Cache-Control": {"description": "A persisted face's photo never changes: the browser may keep it an hour.", "required": True, "schema": {"type": "string", "enum": [PHOTO_HEADERS["Cache-Control"]]}}} for kind in GROUP_KINDS},
    (429, None): {"Retry-After": {"description": "Seconds to wait, when the Azure Face API said.", "schema": {"type": "integer", "minimum": 0}}},
}  # fmt: skip

_VERSION = {"type": "string", "enum": list(versions.API_VERSIONS)}
_STRING, _INT, _NUMBER, _BOOL = {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}
_UUID, _TIME = {"type": "string", "format": "uuid"}, {"type": "string", "format": "date-time"}
_CONFIDENCE = {"type": "number", "minimum": 0, "maximum": 1}
_LEVEL = {"type": "string", "enum": ["low", "medium", "high"]}
_STATUS = {"type": "string", "enum": ["notStarted", "running", "succeeded", "failed"]}
_MODEL = {"type": "string", "enum": list(RECOGNITION_MODELS), "description": "With returnRecognitionModel=true."}
_LANDMARKS = ("pupilLeft", "pupilRight", "noseTip", "mouthLeft", "mouthRight")
_WEBHOOK = {"webhookId": _STRING, "url": _STRING, "signed": {**_BOOL, "description": "Whether it has a secret."}, "personIds": _array(_STRING), "cameraIds": _array(_STRING), "eventTypes": _array({"type": "string", "enum": list(EVENT_KINDS)}), "createdDateTime": _TIME}  # fmt: skip
_TRAINING_STATUS = _object(
    {
        "status": _STATUS,
        "createdDateTime": _nullable(_TIME),
        "lastActionDateTime": _nullable(_TIME),
        "message": _nullable(_STRING),
    }
)
# A visit (visits/records.py), open or closed; namedBy only once a user named it (visits/naming.py).
_VISIT = {
    "visitId": {"type": "string", "pattern": f"^{VISIT_ID_PATTERN.pattern}$"},
    "cameraId": {"type": "string", "pattern": CAMERA_PATTERN.pattern},
    "location": _STRING,
    "personGroupId": _STRING,
    "personId": {**_nullable(_STRING), "description": "null: an Unknown visitor."},
    "name": _STRING,
    "confidence": _CONFIDENCE,
    "firstSeen": _TIME,
    "lastSeen": _TIME,
    "frames": _INT,
    "closed": _BOOL,
    "snapshot": {**_nullable(_STRING), "description": "The best face's blob, visits/YYYYMMDD/<visitId>.jpg."},
    "namedBy": {
        "type": "string",
        "enum": [NAMED_BY_USER],
        "description": "Present when a user named the visitor later.",
    },
}

_CAMERA = {"type": "string", "pattern": CAMERA_PATTERN.pattern}
_FRAME_RESULT = {"timeStamp": _TIME, "frameWidth": _INT, "frameHeight": _INT, "record": {**_nullable(_STRING), "description": "The frame's sighting line, sightings/YYYYMMDD/<cameraId>/<HH>.jsonl#<byte offset>; null when FRAME_RECORDS is off or the frame had no face."}, "faces": _array(_ref("IdentifiedFace"))}  # fmt: skip

SCHEMAS: dict[str, Any] = {
    "Error": _object({"error": _object({"code": _STRING, "message": _STRING})}),
    # Request bodies: the fields the app reads (others are ignored, as Azure ignores them).
    "NewPersonGroup": {"type": "object", "required": ["name"], "properties": {"name": _STRING, "userData": _STRING, "recognitionModel": {"type": "string", "enum": list(RECOGNITION_MODELS)}}},
    "NewPerson": {"type": "object", "required": ["name"], "properties": {"name": _STRING, "userData": _STRING}},
    "NameAndUserData": {"type": "object", "properties": {"name": _STRING, "userData": _STRING}},
    "UserData": {"type": "object", "properties": {"userData": _STRING}},
    "IdentifyBody": {"type": "object", "description": "personGroupId or largePersonGroupId.", "required": ["faceIds"], "properties": {"faceIds": {"type": "array", "items": _STRING, "minItems": 1, "maxItems": MAX_IDENTIFY_FACES}, "personGroupId": _STRING, "largePersonGroupId": _STRING, "maxNumOfCandidatesReturned": {"type": "integer", "minimum": 1, "maximum": 100}, "confidenceThreshold": _CONFIDENCE}},
    "VerifyBody": {"type": "object", "description": "faceId1 and faceId2, or faceId, personId and personGroupId (or largePersonGroupId).", "properties": {"faceId1": _STRING, "faceId2": _STRING, "faceId": _STRING, "personId": _STRING, "personGroupId": _STRING, "largePersonGroupId": _STRING}},
    "NewFaceList": {"type": "object", "required": ["name"], "properties": {"name": _STRING, "userData": _STRING, "recognitionModel": {"type": "string", "enum": list(RECOGNITION_MODELS)}}},
    "ImageUrl": {"type": "object", "required": ["url"], "properties": {"url": {"type": "string", "description": "http or https; public addresses only, unless FACE_IMAGE_URL_ALLOWED_HOSTS lists the host."}}},
    "FindSimilarBody": {"type": "object", "required": ["faceId"], "description": "faceId, and one of faceListId, largeFaceListId and faceIds.", "properties": {"faceId": _STRING, "faceListId": _STRING, "largeFaceListId": _STRING, "faceIds": {"type": "array", "items": _STRING, "minItems": 1, "maxItems": 1000}, "maxNumOfCandidatesReturned": {"type": "integer", "minimum": 1, "maximum": 1000}, "mode": {"type": "string", "enum": ["matchPerson", "matchFace"]}}},
    "GroupBody": {"type": "object", "required": ["faceIds"], "properties": {"faceIds": {"type": "array", "items": _STRING, "minItems": 1, "maxItems": 1000}}},
    "NameVisitBody": {"type": "object", "description": "personId (an existing person of the visit's group), or name and optionally userData (a new person).", "properties": {"personId": _STRING, "name": _STRING, "userData": _STRING, "train": {**_BOOL, "description": "Request the group's training afterwards; default true."}}},
    "EnrollmentBody": {"type": "object", "required": ["personGroupId", "container"], "properties": {"personGroupId": _STRING, "container": _STRING, "prefix": _STRING, "train": _BOOL}},
    # Answers.
    "PersonGroup": _object({"personGroupId": _STRING, "name": _STRING, "userData": _nullable(_STRING), "recognitionModel": {"type": "string", "enum": list(RECOGNITION_MODELS), "description": "With returnRecognitionModel=true."}}, optional=("recognitionModel",)),
    "LargePersonGroup": _object({"largePersonGroupId": _STRING, "name": _STRING, "userData": _nullable(_STRING), "recognitionModel": {"type": "string", "enum": list(RECOGNITION_MODELS), "description": "With returnRecognitionModel=true."}}, optional=("recognitionModel",)),
    "OperationStatus": _object({"operationId": _UUID, "status": _STATUS, "createdTime": _TIME, "lastActionTime": _nullable(_TIME), "finishedTime": _nullable(_TIME), "message": _nullable(_STRING)}),
    "CreatedPerson": _object({"personId": _UUID}),
    "Person": _object({"personId": _UUID, "name": _STRING, "userData": _nullable(_STRING), "persistedFaceIds": _array(_UUID)}),
    "AddedFace": _object({"persistedFaceId": _UUID}),
    "PersistedFace": _object({"persistedFaceId": _UUID, "userData": _nullable(_STRING)}),
    "FaceListInfo": _object({"faceListId": _STRING, "name": _STRING, "userData": _nullable(_STRING), "recognitionModel": _MODEL}, optional=("recognitionModel",)),
    "FaceList": _object({"faceListId": _STRING, "name": _STRING, "userData": _nullable(_STRING), "recognitionModel": _MODEL, "persistedFaces": _array(_ref("PersistedFace"))}, optional=("recognitionModel",)),
    "LargeFaceList": _object({"largeFaceListId": _STRING, "name": _STRING, "userData": _nullable(_STRING), "recognitionModel": _MODEL}, optional=("recognitionModel",)),
    "SimilarFace": {**_object({"persistedFaceId": _UUID, "faceId": _UUID, "confidence": _CONFIDENCE}, optional=("persistedFaceId", "faceId")), "description": "persistedFaceId from a (large) face list, faceId from faceIds."},
    "GroupResult": _object({"groups": _array(_array(_UUID)), "messyGroup": _array(_UUID)}),
    "TrainingStatus": _TRAINING_STATUS,
    "FaceRectangle": _object({k: _INT for k in ("top", "left", "width", "height")}),
    "Point": _object({"x": _NUMBER, "y": _NUMBER}),
    # The local engine finds these five; the Azure Face API answers them among its 27.
    "FaceLandmarks": {"type": "object", "required": ["pupilLeft", "pupilRight"], "properties": {k: _ref("Point") for k in _LANDMARKS}, "additionalProperties": _ref("Point")},
    "FaceAttributes": {**_object({"headPose": _object({"pitch": _NUMBER, "roll": _NUMBER, "yaw": _NUMBER}), "blur": _object({"blurLevel": _LEVEL, "value": _NUMBER}), "exposure": _object({"exposureLevel": {"type": "string", "enum": ["underExposure", "goodExposure", "overExposure"]}, "value": _NUMBER}), "qualityForRecognition": _LEVEL}, optional=SUPPORTED_ATTRIBUTES), "description": "The attributes asked for in returnFaceAttributes."},
    "DetectedFace": _object({"faceId": {**_UUID, "description": "Unless returnFaceId=false."}, "faceRectangle": _ref("FaceRectangle"), "faceLandmarks": _ref("FaceLandmarks"), "faceAttributes": _ref("FaceAttributes"), "recognitionModel": {"type": "string", "enum": list(RECOGNITION_MODELS), "description": "With returnRecognitionModel=true."}}, optional=("faceId", "faceLandmarks", "faceAttributes", "recognitionModel")),
    "Candidate": _object({"personId": _UUID, "confidence": _CONFIDENCE}),
    "IdentifyResult": _object({"faceId": _UUID, "candidates": _array(_ref("Candidate"))}),
    "VerifyResult": _object({"isIdentical": _BOOL, "confidence": _CONFIDENCE}),
    # models.RecognizedFace.to_dict: the best candidate only; a face without one is Unknown, its personId null.
    "IdentifiedFace": _object({"faceRectangle": _ref("FaceRectangle"), "personId": _nullable(_UUID), "name": _STRING, "confidence": _CONFIDENCE, "qualityForRecognition": _nullable(_LEVEL), "trackId": {**_nullable({"type": "string", "pattern": "^t[0-9a-f]{12}$"}), "description": "The face's track: the same person in successive frames of the camera."}, "visitId": {**_nullable({"type": "string", "pattern": "^v[0-9]{8}T[0-9]{9}-[0-9a-f]{12}$"}), "description": "The visit the track belongs to; null in a track's first frames, before it may be named."}}),
    "FrameResult": _object(_FRAME_RESULT),
    # features/latest_frames.py: a camera's latest frame on this instance, its answer and when it was taken.
    "CameraFrame": _object({"cameraId": _CAMERA, "personGroupId": _STRING, "time": _TIME, "faces": {**_INT, "description": "How many faces the frame had."}}),
    "LatestFrame": _object({**_FRAME_RESULT, "cameraId": _CAMERA, "personGroupId": _STRING, "time": {**_TIME, "description": "When the frame was taken (its timeStamp)."}}),
    # A face row of a sighting record (features/sightings.py), with the record it is in.
    "Sighting": _object({"faceRectangle": _ref("FaceRectangle"), "personId": _nullable(_UUID), "name": _STRING, "confidence": _CONFIDENCE, "qualityForRecognition": _nullable(_LEVEL), "trackId": _nullable(_STRING), "visitId": _nullable(_STRING), "timeStamp": _TIME, "location": _STRING, "camera": {"type": "string", "pattern": CAMERA_PATTERN.pattern}, "personGroupId": _STRING, "frameWidth": _INT, "frameHeight": _INT, "record": _STRING}),
    "Visit": _object(_VISIT, optional=("namedBy",)),
    "NamedVisit": _object({"visit": _ref("Visit"), "personId": _UUID, "persistedFaceId": _UUID, "createdPerson": _BOOL, "training": {**_nullable(_TRAINING_STATUS), "description": "null with train=false."}}),
    "SimilarVisits": _object({"visitId": _STRING, "visits": _array(_object({"confidence": _CONFIDENCE, "visit": _ref("Visit")}))}),
    # events/webhooks.py: a subscription (the secret is write-only) and its status.
    "WebhookBody": {"type": "object", "required": ["url"], "properties": {"url": {**_STRING, "description": "http or https; private addresses only with WEBHOOK_ALLOW_PRIVATE=on."}, "secret": {**_STRING, "maxLength": 256, "description": "Signs each delivery (X-Signature-256: sha256=<hex HMAC-SHA256 of the body>); never answered back."}, "personIds": {**_array(_STRING), "description": "Only these persons' visits (\"Unknown\": visits of nobody enrolled); absent or empty: all."}, "cameraIds": {**_array(_STRING), "description": "Only these cameras' visits; absent or empty: all."}, "eventTypes": {**_array({"type": "string", "enum": list(EVENT_KINDS)}), "description": "Only these events; absent or empty: all."}}},
    "Webhook": _object(_WEBHOOK),
    "WebhookWithStatus": _object({**_WEBHOOK, "status": _object({"delivered": _INT, "lastDelivery": _nullable(_TIME), "failedAttempts": _INT, "lastFailure": _nullable(_object({"time": _TIME, "eventId": _STRING, "attempt": _INT, "reason": _STRING})), "deadLettered": _INT, "deadLetters": {**_array(_object({"eventId": _STRING, "eventType": _STRING, "time": _TIME, "attempts": _INT, "reason": _STRING})), "description": f"The latest {LATEST_DEAD_LETTERS}, latest first."}})}),
    "VisitsPage": _object({"visits": _array(_ref("Visit")), "continuationToken": {**_nullable(_STRING), "description": "The next page's, null on the last page."}}),
    # A visit event (events/records.py): the visit as it was then, with the event's id, type and time.
    "VisitEvent": _object({**_VISIT, "id": _STRING, "type": {"type": "string", "enum": list(EVENT_KINDS)}, "time": _TIME, "snapshot": {**_nullable(_STRING), "description": "The snapshot's URL path, /api/visits/<visitId>/snapshot."}, "mergedInto": {"type": "string", "description": "visit.ended only: the visit this one became part of (the same visitor)."}}, optional=("namedBy", "mergedInto")),
    "EventsPage": _object({"events": _array(_ref("VisitEvent")), "next": {"type": "string", "description": "The cursor to pass as after."}}),
    "SightingsPage": _object({"sightings": _array(_ref("Sighting")), "continuationToken": {**_nullable(_STRING), "description": "The next page's, null on the last page."}}),
    # features/bulk_enrollment.py EnrollmentJob.to_dict.
    "Enrollment": _object({
        "enrollmentId": _UUID, "personGroupId": _STRING,
        "source": {"type": "string", "pattern": "^(zip|blobs:[a-z0-9-]+/.*)$", "description": "zip, or blobs:<container>/<prefix>."},
        "train": _BOOL, "status": _STATUS, "createdDateTime": _TIME, "lastActionDateTime": _TIME,
        "total": _INT, "processed": _INT, "added": _INT, "skipped": {**_INT, "description": "Photos already enrolled by an earlier run."},
        "persons": {"type": "object", "description": "personId by person name.", "additionalProperties": _UUID},
        "rejected": _array(_object({"photo": _STRING, "person": _STRING, "reason": _STRING})),
        "trainingStatus": {**_nullable(_STATUS), "description": "The group's training after the enrollment; null until then, or with train=false."},
        "message": {**_nullable(_STRING), "description": "The summary once succeeded, the error once failed."},
    }),
}  # fmt: skip


def _response(description: str, schema: dict[str, Any] | None, headers: dict[str, Any] | None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description}
    if headers:
        response["headers"] = headers
    if schema is not None:
        types = PHOTO_TYPES if schema is PHOTO else ("image/jpeg",) if schema is JPEG_IMAGE else (JSON,)
        response["content"] = {media_type: {"schema": schema} for media_type in types}
    return response


def _operation(operation_id, summary, query, body, status, answer, errors, path) -> dict[str, Any]:
    path_params = [
        {"name": p.strip("{}"), "in": "path", "required": True, "schema": _VERSION if p == "{apiVersion}" else _STRING}
        for p in path.split("/")
        if p.startswith("{")
    ]
    responses = {str(status): _response("Success", answer, HEADERS.get((status, operation_id)))}
    for code in sorted({*errors, *ALWAYS, *((413,) if body is not None else ())}):
        if code < 400:  # another success: v1.2's long-running form of the operation
            responses[str(code)] = _response("Success (v1.2)", answer, HEADERS.get((code, operation_id)))
        else:
            responses[str(code)] = _response(ERRORS[code], _ref("Error"), HEADERS.get((code, None)))
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "parameters": path_params + query,
        "responses": responses,
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": body}
    return operation


@functools.cache
def openapi_spec() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path, operation_id, summary, query, body, status, answer, errors in OPERATIONS:
        if "{apiVersion}" in path:
            errors = (*errors, 404)  # a version this service does not speak
        paths.setdefault(path, {})[method] = _operation(
            operation_id, summary, query, body, status, answer, errors, path
        )
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Video face recognition",
            "version": "1.0",
            "description": "The Azure Face API's person groups, large person groups, face lists, large face lists, detect, "
            "identify, verify, find-similar and group, in v1.0 (the old FaceClient SDK) and v1.1-preview.1, v1.2-preview.1 "
            "and v1.2 (the azure-ai-vision-face SDK), plus one-call frame identification, the cameras' latest frames, sightings, visits, Unknown visitors named later and bulk enrollment. "
            "Errors answer the Face API's "
            "envelope; with FACE_ENGINE=azure, the Face API routes pass on the Azure Face API's own errors in it.",
        },
        "security": [{"subscriptionKey": []}, {"functionsKey": []}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "subscriptionKey": {"type": "apiKey", "in": "header", "name": "Ocp-Apim-Subscription-Key"},
                "functionsKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
            },
        },
    }


@endpoint(bp, "openapi_document", "api/openapi.json", "GET")
def openapi_document(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    return json_response(openapi_spec())
