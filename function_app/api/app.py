"""The Azure Functions app: every blueprint registered in one place."""

from __future__ import annotations

import azure.functions as func

from . import background, face_operations, frames, openapi, person_groups, persons

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
for blueprint in (person_groups.bp, persons.bp, face_operations.bp, frames.bp, openapi.bp, background.bp):
    app.register_functions(blueprint)
