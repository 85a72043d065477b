"""The sightings query: faces seen by day, person and camera, paged."""

from __future__ import annotations

import azure.functions as func

from ..features.sightings import query_sightings
from ..runtime import Runtime
from .http import endpoint, json_response, param, top_param

bp = func.Blueprint()


@endpoint(bp, "list_sightings", "api/sightings", "GET")
def list_sightings(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    page = query_sightings(
        runtime.storage,
        day=param(req, "day"),
        person_id=param(req, "personId"),
        camera=param(req, "cameraId"),
        top=top_param(req, limit=1000) if param(req, "top") else 100,
        continuation_token=param(req, "continuationToken"),
    )
    return json_response(page.to_dict())
