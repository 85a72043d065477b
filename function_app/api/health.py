"""`GET /api/health`, without a key: 200 when the storage, the visit index and the engine answer, else 503
naming what failed (for a load balancer, an uptime monitor, a container's health probe)."""

from __future__ import annotations

import azure.functions as func

from ..health import check_health
from .http import json_response

bp = func.Blueprint()


@bp.function_name("health")
@bp.route(route="api/health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    found = check_health()
    return json_response(found.to_dict(), 200 if found.healthy else 503)
