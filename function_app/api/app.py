"""The Azure Functions app: every blueprint registered in one place."""

from __future__ import annotations

import azure.functions as func

from . import (
    background,
    cameras,
    enrollments,
    events,
    face_lists,
    face_operations,
    face_photos,
    frames,
    health,
    large_person_groups,
    metrics,
    openapi,
    operations,
    person_groups,
    persons,
    sightings,
    similarity,
    visitors,
    visits,
    web,
    webhooks,
)

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
FEATURES = (
    person_groups,
    persons,
    large_person_groups,
    face_photos,
    operations,
    face_operations,
    face_lists,
    similarity,
    frames,
    cameras,
    sightings,
    visitors,
    visits,
    events,
    enrollments,
    webhooks,
    openapi,
    health,
    metrics,
    background,
    web,
)
for feature in FEATURES:
    app.register_functions(feature.bp)
