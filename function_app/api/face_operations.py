"""Detect, identify and verify, as the Face API v1.0 answers them."""

from __future__ import annotations

import azure.functions as func

from ..errors import BadArgument
from ..face_api import DetectOptions
from ..params import parse_float, parse_int
from ..services import Services
from .http import endpoint, image_body, json_body, json_response, param

bp = func.Blueprint()


@endpoint(bp, "detect", "face/v1.0/detect", "POST")
def detect(req: func.HttpRequest, services: Services) -> func.HttpResponse:
    options = DetectOptions.parse(
        return_face_id=param(req, "returnFaceId"),
        return_landmarks=param(req, "returnFaceLandmarks"),
        attributes=param(req, "returnFaceAttributes"),
        face_id_ttl=param(req, "faceIdTimeToLive"),
        detection_model=param(req, "detectionModel"),
        recognition_model=param(req, "recognitionModel"),
    )
    return json_response(services.faces.detect(image_body(req), options))


@endpoint(bp, "identify", "face/v1.0/identify", "POST")
def identify(req: func.HttpRequest, services: Services) -> func.HttpResponse:
    body = json_body(req)
    group_id = body.get("personGroupId")
    if not group_id:
        other = next((k for k in ("largePersonGroupId", "dynamicPersonGroupId") if body.get(k)), None)
        hint = f"{other} is not supported by this server; " if other else ""
        raise BadArgument(f"{hint}'personGroupId' is required.")
    answer = services.faces.identify(
        group_id,
        body.get("faceIds"),
        max_candidates=parse_int(body.get("maxNumOfCandidatesReturned"), "maxNumOfCandidatesReturned", default=10),
        confidence_threshold=parse_float(body.get("confidenceThreshold"), "confidenceThreshold"),
    )
    return json_response(answer)


@endpoint(bp, "verify", "face/v1.0/verify", "POST")
def verify(req: func.HttpRequest, services: Services) -> func.HttpResponse:
    body = json_body(req)
    if body.get("faceId1") and body.get("faceId2"):
        return json_response(services.faces.verify_faces(body["faceId1"], body["faceId2"]))
    if body.get("faceId") and body.get("personId") and body.get("personGroupId"):
        answer = services.faces.verify_person(body["faceId"], body["personGroupId"], body["personId"])
        return json_response(answer)
    raise BadArgument("Request body is invalid: give faceId1 and faceId2, or faceId, personId and personGroupId.")
