"""A persisted face's photo, as it was uploaded: a product route beside the Face API (which answers no
photo), for the web page's People tab. Registered once per kind of person group."""

from __future__ import annotations

import azure.functions as func

from ..faceapi.group_kinds import GROUP_KINDS, GroupKind
from ..imaging import media_type
from ..runtime import Runtime
from .http import endpoint

bp = func.Blueprint()
# A persisted face never changes (only its userData, which is not in the photo): the browser may keep it.
PHOTO_HEADERS = {"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}


def photo_route(kind: GroupKind) -> str:
    return f"api/{kind.route}/{{{kind.id_name}}}/persons/{{personId}}/persistedfaces/{{persistedFaceId}}/photo"


def register_face_photo_route(bp: func.Blueprint, kind: GroupKind) -> None:
    @endpoint(bp, f"get_{kind.person_function_prefix}person_face_photo", photo_route(kind), "GET")
    def get_person_face_photo(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        route = req.route_params
        photo = runtime.face_api.face_photo(route[kind.id_name], route["personId"], route["persistedFaceId"], kind=kind)
        # The type read from the bytes themselves: what was uploaded is what the gallery kept.
        return func.HttpResponse(photo, mimetype=media_type(photo), headers=PHOTO_HEADERS)


for group_kind in GROUP_KINDS:
    register_face_photo_route(bp, group_kind)
