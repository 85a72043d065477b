"""Unknown visitors: name a visit's visitor later, and find the past visits of the same stranger."""

from __future__ import annotations

import azure.functions as func

from ..runtime import Runtime
from ..visits.naming import NameRequest, name_visit
from ..visits.strangers import similar_visits
from .http import body_field, endpoint, json_body, json_response, param, top_param
from .params import parse_int

bp = func.Blueprint()
MAX_SIMILAR = 100


@endpoint(bp, "name_visit", "api/visits/{visitId}/person", "POST")
def post_visit_person(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    body = json_body(req)
    request = NameRequest(
        person_id=body_field(body, "personId", str, None),
        name=body_field(body, "name", str, None),
        user_data=body_field(body, "userData", str, None),
        train=body_field(body, "train", bool, True),
    )
    named = name_visit(runtime.face_api, runtime.visits, req.route_params["visitId"], request)
    return json_response(named.to_dict())


@endpoint(bp, "similar_visits", "api/visits/{visitId}/similar", "GET")
def get_similar_visits(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    found = similar_visits(
        runtime.face_api,
        runtime.visits,
        runtime.settings,
        req.route_params["visitId"],
        top=top_param(req, limit=MAX_SIMILAR) if param(req, "top") else 20,
        days=None if param(req, "days") is None else parse_int(param(req, "days"), "days", default=0),
    )
    return json_response(found.to_dict())
