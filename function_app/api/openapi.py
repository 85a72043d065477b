"""The OpenAPI 3 document of the HTTP functions, served at /api/openapi.json. A test checks that
it lists exactly the routes the app registers."""

from __future__ import annotations

import functools
from typing import Any

import azure.functions as func

from ..runtime import Runtime
from .http import endpoint, json_response

bp = func.Blueprint()

GROUP = "/face/v1.0/persongroups/{personGroupId}"
PERSON = GROUP + "/persons/{personId}"
FACE = PERSON + "/persistedfaces/{persistedFaceId}"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _query(name: str, kind: str = "string", description: str = "", required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": {"type": kind}, "description": description}


JSON = "application/json"
IMAGE = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
# (method, path, operationId = function name, summary, query parameters, request body, success status, answer)
OPERATIONS: list[tuple[str, str, str, str, list, dict | None, int, dict | None]] = [
    ("put", GROUP, "create_person_group", "Create a person group.", [], {JSON: {"schema": _ref("PersonGroupBody")}}, 200, None),
    ("get", GROUP, "get_person_group", "Get a person group.", [_query("returnRecognitionModel", "boolean")], None, 200, _ref("PersonGroup")),
    ("patch", GROUP, "update_person_group", "Update a group's name or userData.", [], {JSON: {"schema": _ref("PersonGroupBody")}}, 200, None),
    ("delete", GROUP, "delete_person_group", "Delete a group with its persons and faces.", [], None, 200, None),
    ("get", "/face/v1.0/persongroups", "list_person_groups", "List person groups.", [_query("start"), _query("top", "integer")], None, 200, {"type": "array", "items": _ref("PersonGroup")}),
    ("post", GROUP + "/train", "train_person_group", "Queue the group's training (answers 202 at once).", [], None, 202, None),
    ("get", GROUP + "/training", "get_person_group_training_status", "The group's training status.", [], None, 200, _ref("TrainingStatus")),
    ("post", GROUP + "/persons", "create_person", "Create a person.", [], {JSON: {"schema": _ref("PersonGroupBody")}}, 200, {"type": "object", "properties": {"personId": {"type": "string"}}}),
    ("get", GROUP + "/persons", "list_persons", "List the group's persons.", [_query("start"), _query("top", "integer")], None, 200, {"type": "array", "items": _ref("Person")}),
    ("get", PERSON, "get_person", "Get a person.", [], None, 200, _ref("Person")),
    ("patch", PERSON, "update_person", "Update a person's name or userData.", [], {JSON: {"schema": _ref("PersonGroupBody")}}, 200, None),
    ("delete", PERSON, "delete_person", "Delete a person and their faces.", [], None, 200, None),
    ("post", PERSON + "/persistedfaces", "add_person_face", "Add a face photo to a person.", [_query("userData"), _query("targetFace", description="left,top,width,height"), _query("detectionModel")], IMAGE, 200, {"type": "object", "properties": {"persistedFaceId": {"type": "string"}}}),
    ("get", FACE, "get_person_face", "Get a persisted face.", [], None, 200, _ref("PersistedFace")),
    ("delete", FACE, "delete_person_face", "Delete a persisted face.", [], None, 200, None),
    ("post", "/face/v1.0/detect", "detect", "Detect faces; each gets a faceId for identify and verify.", [_query("returnFaceId", "boolean"), _query("returnFaceLandmarks", "boolean"), _query("returnFaceAttributes", description="headPose,blur,exposure,qualityForRecognition"), _query("faceIdTimeToLive", "integer"), _query("detectionModel"), _query("recognitionModel")], IMAGE, 200, {"type": "array", "items": _ref("DetectedFace")}),
    ("post", "/face/v1.0/identify", "identify", "Identify detected faces against a trained group.", [], {JSON: {"schema": _ref("IdentifyBody")}}, 200, {"type": "array", "items": _ref("IdentifyResult")}),
    ("post", "/face/v1.0/verify", "verify", "Verify two faces, or a face against a person.", [], {JSON: {"schema": _ref("VerifyBody")}}, 200, _ref("VerifyResult")),
    ("post", "/api/frames", "recognize_frame", "Detect and identify a video frame in one call, and record the sighting.", [_query("personGroupId", required=True), _query("cameraId", required=True), _query("location"), _query("confidenceThreshold", "number")], {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}, **IMAGE}, 200, _ref("FrameResult")),
    ("get", "/api/sightings", "list_sightings", "Faces seen on a UTC day, by person and camera, paged.", [_query("day", description="YYYYMMDD, default today"), _query("personId"), _query("cameraId"), _query("top", "integer"), _query("continuationToken")], None, 200, _ref("SightingsPage")),
    ("post", "/api/enrollments", "start_enrollment", "Enroll a zip of photos (or a blob prefix) in the background.", [_query("personGroupId"), _query("train", "boolean")], {"application/zip": {"schema": {"type": "string", "format": "binary"}}, JSON: {"schema": _ref("EnrollmentBody")}}, 202, _ref("Enrollment")),
    ("get", "/api/enrollments/{enrollmentId}", "get_enrollment", "A bulk enrollment's progress and report.", [], None, 200, _ref("Enrollment")),
    ("get", "/api/openapi.json", "openapi_document", "This document.", [], None, 200, {"type": "object"}),
]  # fmt: skip

_STRING, _INT, _NUMBER = {"type": "string"}, {"type": "integer"}, {"type": "number"}
_RECT = {"type": "object", "properties": {k: _INT for k in ("top", "left", "width", "height")}}
SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {"code": _STRING, "message": _STRING}}}},
    "PersonGroupBody": {"type": "object", "properties": {"name": _STRING, "userData": _STRING, "recognitionModel": _STRING}},
    "PersonGroup": {"type": "object", "properties": {"personGroupId": _STRING, "name": _STRING, "userData": _STRING, "recognitionModel": _STRING}},
    "Person": {"type": "object", "properties": {"personId": _STRING, "name": _STRING, "userData": _STRING, "persistedFaceIds": {"type": "array", "items": _STRING}}},
    "PersistedFace": {"type": "object", "properties": {"persistedFaceId": _STRING, "userData": _STRING}},
    "TrainingStatus": {"type": "object", "properties": {"status": {"enum": ["notStarted", "running", "succeeded", "failed"]}, "createdDateTime": _STRING, "lastActionDateTime": _STRING, "message": _STRING}},
    "FaceRectangle": _RECT,
    "DetectedFace": {"type": "object", "properties": {"faceId": _STRING, "faceRectangle": _ref("FaceRectangle"), "faceLandmarks": {"type": "object"}, "faceAttributes": {"type": "object"}}},
    "IdentifyBody": {"type": "object", "required": ["faceIds", "personGroupId"], "properties": {"faceIds": {"type": "array", "items": _STRING, "maxItems": 10}, "personGroupId": _STRING, "maxNumOfCandidatesReturned": _INT, "confidenceThreshold": _NUMBER}},
    "IdentifyResult": {"type": "object", "properties": {"faceId": _STRING, "candidates": {"type": "array", "items": {"type": "object", "properties": {"personId": _STRING, "confidence": _NUMBER}}}}},
    "VerifyBody": {"type": "object", "properties": {"faceId1": _STRING, "faceId2": _STRING, "faceId": _STRING, "personId": _STRING, "personGroupId": _STRING}},
    "VerifyResult": {"type": "object", "properties": {"isIdentical": {"type": "boolean"}, "confidence": _NUMBER}},
    "IdentifiedFace": {"type": "object", "properties": {"faceRectangle": _ref("FaceRectangle"), "personId": _STRING, "name": _STRING, "confidence": _NUMBER, "qualityForRecognition": _STRING}},
    "FrameResult": {"type": "object", "properties": {"timeStamp": _STRING, "frameWidth": _INT, "frameHeight": _INT, "record": _STRING, "faces": {"type": "array", "items": _ref("IdentifiedFace")}}},
    "SightingsPage": {"type": "object", "properties": {"sightings": {"type": "array", "items": {"type": "object"}}, "continuationToken": _STRING}},
    "EnrollmentBody": {"type": "object", "properties": {"personGroupId": _STRING, "container": _STRING, "prefix": _STRING, "train": {"type": "boolean"}}},
    "Enrollment": {"type": "object", "properties": {"enrollmentId": _STRING, "personGroupId": _STRING, "status": _STRING, "total": _INT, "processed": _INT, "added": _INT, "skipped": _INT, "rejected": {"type": "array", "items": {"type": "object"}}, "message": _STRING}},
}  # fmt: skip


def _operation(operation_id, summary, query, body, status, answer, path) -> dict[str, Any]:
    path_params = [
        {"name": p.strip("{}"), "in": "path", "required": True, "schema": _STRING}
        for p in path.split("/")
        if p.startswith("{")
    ]
    success: dict[str, Any] = {"description": "Success"}
    if answer is not None:
        success["content"] = {JSON: {"schema": answer}}
    error = {"content": {JSON: {"schema": _ref("Error")}}}
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "parameters": path_params + query,
        "responses": {
            str(status): success,
            "400": {"description": "Bad input", **error},
            "401": {"description": "Missing or wrong key", **error},
            "404": {"description": "Not found", **error},
        },
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": body}
    return operation


@functools.cache
def openapi_spec() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path, operation_id, summary, query, body, status, answer in OPERATIONS:
        paths.setdefault(path, {})[method] = _operation(operation_id, summary, query, body, status, answer, path)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Video face recognition",
            "version": "1.0",
            "description": "The Azure Face API v1.0 subset the prototype and the FaceClient SDK use, "
            "plus one-call frame identification, sightings and bulk enrollment.",
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
