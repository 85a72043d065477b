"""Bulk enrollment jobs: start one from a zip or a blob prefix, and follow its progress."""

from __future__ import annotations

import azure.functions as func

from ..features.bulk_enrollment import get_enrollment, start_enrollment
from ..runtime import Runtime
from .http import body_field, endpoint, json_body, json_response, param, required_param
from .params import parse_bool

bp = func.Blueprint()


@endpoint(bp, "start_enrollment", "api/enrollments", "POST")
def post_enrollment(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    """A zip body (`application/zip`) with ?personGroupId=, or JSON {personGroupId, container, prefix}."""
    content_type = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    train = parse_bool(param(req, "train"), "train", default=True)
    if content_type == "application/json":
        body = json_body(req)
        job = start_enrollment(
            runtime.storage,
            body_field(body, "personGroupId", str, ""),
            container=body_field(body, "container", str, "") or None,
            prefix=body_field(body, "prefix", str, ""),
            train=body_field(body, "train", bool, train),
        )
    else:
        job = start_enrollment(
            runtime.storage, required_param(req, "personGroupId"), zip_data=req.get_body(), train=train
        )
    response = json_response(job.to_dict(), 202)
    response.headers["Location"] = f"/api/enrollments/{job.enrollment_id}"
    return response


@endpoint(bp, "get_enrollment", "api/enrollments/{enrollmentId}", "GET")
def enrollment_status(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    return json_response(get_enrollment(runtime.storage, req.route_params["enrollmentId"]).to_dict())
