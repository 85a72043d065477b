"""The edge client's one call per frame, the sightings query, and bulk enrollment jobs."""

from __future__ import annotations

import azure.functions as func

from ..bulk_enrollment import get_enrollment, start_enrollment
from ..errors import BadArgument
from ..frames import identify_frame
from ..params import parse_bool, parse_float
from ..services import Services
from ..sightings import query_sightings
from .http import endpoint, image_body, json_body, json_response, param, top_param

bp = func.Blueprint()


def _required(req: func.HttpRequest, name: str) -> str:
    value = param(req, name)
    if not value:
        raise BadArgument(f"'{name}' is required.")
    return value


@endpoint(bp, "identify_frame", "api/frames", "POST")
def post_frame(req: func.HttpRequest, services: Services) -> func.HttpResponse:
    result = identify_frame(
        services.recognizer,
        _required(req, "personGroupId"),
        param(req, "cameraId"),
        image_body(req),
        location=param(req, "location"),
        confidence_threshold=parse_float(param(req, "confidenceThreshold"), "confidenceThreshold"),
    )
    return json_response(result.to_dict())


@endpoint(bp, "list_sightings", "api/sightings", "GET")
def list_sightings(req: func.HttpRequest, services: Services) -> func.HttpResponse:
    page = query_sightings(
        services.storage,
        day=param(req, "day"),
        person_id=param(req, "personId"),
        camera=param(req, "cameraId"),
        top=top_param(req, limit=1000) if param(req, "top") else 100,
        continuation_token=param(req, "continuationToken"),
    )
    return json_response(page.to_dict())


@endpoint(bp, "start_enrollment", "api/enrollments", "POST")
def post_enrollment(req: func.HttpRequest, services: Services) -> func.HttpResponse:
    """A zip body (`application/zip`) with ?personGroupId=, or JSON {personGroupId, container, prefix}."""
    content_type = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    train = parse_bool(param(req, "train"), "train", default=True)
    if content_type == "application/json":
        body = json_body(req)
        job = start_enrollment(
            services.gallery,
            body.get("personGroupId") or "",
            container=body.get("container") or None,
            prefix=body.get("prefix") or "",
            train=body.get("train", train) is not False,
        )
    else:
        job = start_enrollment(services.gallery, _required(req, "personGroupId"), zip_data=req.get_body(), train=train)
    response = json_response(job.to_dict(), 202)
    response.headers["Location"] = f"/api/enrollments/{job.enrollment_id}"
    return response


@endpoint(bp, "get_enrollment", "api/enrollments/{enrollmentId}", "GET")
def enrollment_status(req: func.HttpRequest, services: Services) -> func.HttpResponse:
    return json_response(get_enrollment(services.storage, req.route_params["enrollmentId"]).to_dict())
