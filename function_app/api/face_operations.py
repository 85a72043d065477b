"""Detect, identify and verify, as the Face API v1.0 answers them."""

from __future__ import annotations

import azure.functions as func

from ..errors import BadArgument
from ..faceapi.base import DETECTION_MODELS, RECOGNITION_MODELS
from ..models import DetectOptions
from ..runtime import Runtime
from .http import endpoint, image_body, json_body, json_response, param
from .params import check_model, parse_bool, parse_float, parse_int

bp = func.Blueprint()
# Attributes the engine measures. Azure retired age, gender, emotion and the like; they are refused
# as Azure refuses them, never invented.
SUPPORTED_ATTRIBUTES = ("headPose", "blur", "exposure", "qualityForRecognition")


@endpoint(bp, "detect", "face/v1.0/detect", "POST")
def detect(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    return json_response(runtime.face_api.detect(image_body(req), detect_options(req)))


def detect_options(req: func.HttpRequest) -> DetectOptions:
    """The query parameters of /detect, with Azure's defaults and errors."""
    detection_model = param(req, "detectionModel")
    recognition_model = param(req, "recognitionModel")
    check_model(detection_model, DETECTION_MODELS, "detectionModel")
    check_model(recognition_model, RECOGNITION_MODELS, "recognitionModel")
    wanted = tuple(a.strip() for a in (param(req, "returnFaceAttributes") or "").split(",") if a.strip())
    unsupported = [a for a in wanted if a not in SUPPORTED_ATTRIBUTES]
    if unsupported:
        raise BadArgument(
            f"'returnFaceAttributes' is invalid: {', '.join(unsupported)} not supported "
            f"(Azure retired age, gender and emotion); supported: {', '.join(SUPPORTED_ATTRIBUTES)}."
        )
    return DetectOptions(
        return_face_id=parse_bool(param(req, "returnFaceId"), "returnFaceId", default=True),
        return_landmarks=parse_bool(param(req, "returnFaceLandmarks"), "returnFaceLandmarks", default=False),
        attributes=wanted,
        face_id_ttl=parse_int(param(req, "faceIdTimeToLive"), "faceIdTimeToLive", default=DetectOptions.face_id_ttl),
        detection_model=detection_model or None,
        recognition_model=recognition_model or None,
    )


@endpoint(bp, "identify", "face/v1.0/identify", "POST")
def identify(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    body = json_body(req)
    group_id = body.get("personGroupId")
    if not group_id:
        other = next((k for k in ("largePersonGroupId", "dynamicPersonGroupId") if body.get(k)), None)
        hint = f"{other} is not supported by this server; " if other else ""
        raise BadArgument(f"{hint}'personGroupId' is required.")
    answer = runtime.face_api.identify(
        group_id,
        body.get("faceIds", []),
        max_candidates=parse_int(body.get("maxNumOfCandidatesReturned"), "maxNumOfCandidatesReturned", default=10),
        confidence_threshold=parse_float(body.get("confidenceThreshold"), "confidenceThreshold"),
    )
    return json_response(answer)


@endpoint(bp, "verify", "face/v1.0/verify", "POST")
def verify(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    body = json_body(req)
    if body.get("faceId1") and body.get("faceId2"):
        return json_response(runtime.face_api.verify_faces(body["faceId1"], body["faceId2"]))
    if body.get("faceId") and body.get("personId") and body.get("personGroupId"):
        answer = runtime.face_api.verify_person(body["faceId"], body["personGroupId"], body["personId"])
        return json_response(answer)
    raise BadArgument("Request body is invalid: give faceId1 and faceId2, or faceId, personId and personGroupId.")
