"""The Face API's versions this app answers under `/face/{apiVersion}/...`, and where they differ.

v1.0 is the version of the old SDK (`azure-cognitiveservices-vision-face`) and of the OpenAPI spec in
shared/specs. Microsoft's maintained SDK (`azure-ai-vision-face`) speaks v1.2-preview.1 by default
(v1.1-preview.1 and v1.2 are the neighbouring versions, with the same paths and bodies). From v1.1 on,
training (of a group or a large face list) is a long-running operation: `train` answers 202 with an
`Operation-Location` header naming `/face/{apiVersion}/operations/{operationId}`, which the SDK's poller
reads. In v1.2 adding a face to a person of a group, or to a large face list, is one too (202, the
header, and the persistedFaceId in the body); the previews answer it 200 as v1.0 does, which the preview
SDK requires. Adding a face to a face list answers 200 in every version.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import azure.functions as func

from ..errors import NotFound

FACE = "face/{apiVersion}"
API_VERSIONS = ("v1.0", "v1.1-preview.1", "v1.2-preview.1", "v1.2")


class UnknownApiVersion(NotFound):
    code = "404"  # as Azure's gateway answers a path it does not know


def api_version(req: func.HttpRequest) -> str:
    """The request's version; a version this app does not speak is a path it does not have."""
    version = req.route_params.get("apiVersion", "v1.0")
    if version not in API_VERSIONS:
        raise UnknownApiVersion(f"Resource not found: the Face API has no version {version!r} here.")
    return version


def trains_as_operation(version: str) -> bool:
    """Training answers an Operation-Location from v1.1 on."""
    return version != "v1.0"


def adds_faces_as_operation(version: str) -> bool:
    """Adding a face to a person or a large face list answers 202 with an Operation-Location in v1.2."""
    return version == "v1.2"


def operation_location(req: func.HttpRequest, version: str, operation_id: str) -> str:
    """The absolute URL of an operation's status, on the host the client called."""
    parts = urlsplit(req.url)
    return f"{parts.scheme}://{parts.netloc}/face/{version}/operations/{operation_id}"
