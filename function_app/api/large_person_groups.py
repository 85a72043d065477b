"""Large person groups, their persons and faces: the person group routes, registered for the other kind."""

from __future__ import annotations

import azure.functions as func

from ..faceapi.group_kinds import LARGE_PERSON_GROUP
from .person_groups import register_group_routes
from .persons import register_person_routes

bp = func.Blueprint()
register_group_routes(bp, LARGE_PERSON_GROUP)
register_person_routes(bp, LARGE_PERSON_GROUP)
