"""`GET /api/metrics`: the service's metrics as Prometheus text (key required, as every route but health)."""

from __future__ import annotations

import azure.functions as func

from ..metrics import PROMETHEUS_CONTENT_TYPE, prometheus_text
from ..runtime import Runtime
from .http import endpoint

bp = func.Blueprint()


@endpoint(bp, "metrics", "api/metrics", "GET")
def get_metrics(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    mimetype, _, charset = PROMETHEUS_CONTENT_TYPE.rpartition("; charset=")
    return func.HttpResponse(prometheus_text(), status_code=200, mimetype=mimetype, charset=charset)
