"""Visits: a day's visits by person, camera and time, paged; one visit; its snapshot."""

from __future__ import annotations

from datetime import datetime

import azure.functions as func

from ..clock import parse_iso
from ..errors import BadArgument
from ..runtime import Runtime
from .http import endpoint, json_response, param, top_param
from .params import parse_bool

bp = func.Blueprint()


@endpoint(bp, "list_visits", "api/visits", "GET")
def list_visits(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    unknown = param(req, "unknown")
    page = runtime.visits.query(
        day=param(req, "day"),
        person_id=param(req, "personId"),
        camera=param(req, "cameraId"),
        start=_time_param(req, "start"),
        end=_time_param(req, "end"),
        unknown=parse_bool(unknown, "unknown", default=False) if unknown else None,
        top=top_param(req, limit=1000) if param(req, "top") else 100,
        continuation_token=param(req, "continuationToken"),
    )
    return json_response(page.to_dict())


@endpoint(bp, "get_visit", "api/visits/{visitId}", "GET")
def get_visit(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    return json_response(runtime.visits.get(req.route_params["visitId"]).to_dict())


@endpoint(bp, "get_visit_snapshot", "api/visits/{visitId}/snapshot", "GET")
def get_visit_snapshot(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    return func.HttpResponse(runtime.visits.snapshot(req.route_params["visitId"]), mimetype="image/jpeg")


def _time_param(req: func.HttpRequest, name: str) -> datetime | None:
    value = param(req, name)
    if not value:
        return None
    try:
        return parse_iso(value)
    except ValueError:
        raise BadArgument(
            f"'{name}' is invalid: use an ISO 8601 time with its zone, e.g. 2026-11-26T10:00:00Z."
        ) from None
