"""Find-similar and group: detected faces compared with faces, as the Face API answers them."""

from __future__ import annotations

import azure.functions as func

from ..errors import BadArgument
from ..faceapi.face_lists import DEFAULT_SIMILAR_CANDIDATES, MatchMode, SimilarCandidates, check_face_ids
from ..runtime import Runtime
from .http import endpoint, json_body, json_response
from .params import parse_int
from .versions import FACE, api_version

bp = func.Blueprint()


def _mode(value: object) -> MatchMode:
    if value is None or value == "":
        return MatchMode.MATCH_PERSON
    try:
        return MatchMode(value)
    except ValueError:
        raise BadArgument("'mode' is invalid: use matchPerson or matchFace.") from None


@endpoint(bp, "find_similar", f"{FACE}/findsimilars", "POST")
def find_similar(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    api_version(req)
    body = json_body(req)
    face_id = body.get("faceId")
    if not isinstance(face_id, str) or not face_id:
        raise BadArgument("'faceId' is required.")
    face_ids = body.get("faceIds")
    candidates = SimilarCandidates(
        face_list_id=body.get("faceListId"),
        large_face_list_id=body.get("largeFaceListId"),
        face_ids=tuple(check_face_ids(face_ids, "faceIds", minimum=1)) if face_ids is not None else None,
    )
    found = runtime.face_api.find_similar(
        face_id,
        candidates,
        max_candidates=parse_int(
            body.get("maxNumOfCandidatesReturned"), "maxNumOfCandidatesReturned", default=DEFAULT_SIMILAR_CANDIDATES
        ),
        mode=_mode(body.get("mode")),
    )
    return json_response([f.to_dict() for f in found])


@endpoint(bp, "group", f"{FACE}/group", "POST")
def group(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    api_version(req)
    face_ids = check_face_ids(json_body(req).get("faceIds"), "faceIds", minimum=1)
    return json_response(runtime.face_api.group_faces(face_ids).to_dict())
