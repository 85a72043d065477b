"""The edge client's one call per frame: detect, identify, record the sighting."""

from __future__ import annotations

import azure.functions as func

from ..features.frames import recognize_frame
from ..runtime import Runtime
from .http import endpoint, image_body, json_response, param, required_param
from .params import parse_float

bp = func.Blueprint()


@endpoint(bp, "recognize_frame", "api/frames", "POST")
def post_frame(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    result = recognize_frame(
        runtime.face_api,
        runtime.storage,
        runtime.settings,
        required_param(req, "personGroupId"),
        param(req, "cameraId"),
        image_body(req),
        location=param(req, "location"),
        confidence_threshold=parse_float(param(req, "confidenceThreshold"), "confidenceThreshold"),
    )
    return json_response(result.to_dict())
