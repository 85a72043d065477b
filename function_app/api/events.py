"""The visit events, read from a cursor: poll with the `next` of the previous answer to get what is new."""

from __future__ import annotations

import azure.functions as func

from ..events.log import read_events
from ..runtime import Runtime
from .http import endpoint, json_response, param, top_param

bp = func.Blueprint()


@endpoint(bp, "list_events", "api/events", "GET")
def list_events(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    top = top_param(req, limit=1000) if param(req, "top") else 100
    return json_response(read_events(runtime.storage, param(req, "after"), top).to_dict())
