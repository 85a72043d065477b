"""The edge client's one call per frame: detect, identify, record the sighting."""

from __future__ import annotations

import azure.functions as func

from ..frames import identify_frame
from ..params import parse_float
from ..services import Services
from .http import endpoint, image_body, json_response, param, required_param

bp = func.Blueprint()


@endpoint(bp, "identify_frame", "api/frames", "POST")
def post_frame(req: func.HttpRequest, services: Services) -> func.HttpResponse:
    result = identify_frame(
        services.faces,
        services.storage,
        required_param(req, "personGroupId"),
        param(req, "cameraId"),
        image_body(req),
        location=param(req, "location"),
        confidence_threshold=parse_float(param(req, "confidenceThreshold"), "confidenceThreshold"),
    )
    return json_response(result.to_dict())
