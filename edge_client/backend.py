"""The backend's HTTP API as the client uses it: one `requests.Session`, explicit timeouts, the key
in a header and nowhere else (never in a URL, a message or a log line), and errors sorted by what
the client should do about them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from .results import FrameResult

TIMEOUT = (3.05, 15.0)  # seconds to connect, seconds to wait for an answer


class BackendError(Exception):
    pass


class BackendUnavailable(BackendError):
    """No answer, or 5xx / 429: worth trying again later (not before `retry_after` seconds, when the
    backend said so)."""

    def __init__(self, message: str, retry_after: float = 0.0):
        super().__init__(message)
        self.retry_after = retry_after


class Unauthorized(BackendError):
    """401 / 403: the key is wrong; trying again will not help."""


class RequestRefused(BackendError):
    """Another 4xx, with the Face API's error code and message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{code}: {message}" if code else message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class TrainingStatus:
    status: str  # notStarted, running, succeeded, failed
    message: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingStatus:
        return cls(data.get("status", ""), data.get("message"))


class FaceBackend:
    def __init__(self, endpoint: str, key: str, timeout: tuple[float, float] = TIMEOUT):
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Ocp-Apim-Subscription-Key"] = key

    def close(self) -> None:
        self.session.close()

    def identify_frame(self, group: str, camera: str, jpeg: bytes, location: str | None = None) -> FrameResult:
        params = {"personGroupId": group, "cameraId": camera}
        if location:
            params["location"] = location
        answer = self._call("POST", "/api/frames", params=params, data=jpeg, content_type="image/jpeg")
        return FrameResult.from_dict(answer)

    # Enrollment: the Face API v1.0's person groups, persons and faces.

    def create_group(self, group: str) -> bool:
        """Create the group; False if it is there already."""
        try:
            self._call("PUT", f"/face/v1.0/persongroups/{group}", json={"name": group})
        except RequestRefused as exc:
            if exc.code == "PersonGroupExists":
                return False
            raise
        return True

    def list_persons(self, group: str, large: bool = False) -> list[dict[str, Any]]:
        """Every person of the group (of the large person group with `large`), page after page."""
        kind = "largepersongroups" if large else "persongroups"
        persons: list[dict[str, Any]] = []
        while True:
            params = {"top": "1000", **({"start": persons[-1]["personId"]} if persons else {})}
            page = self._call("GET", f"/face/v1.0/{kind}/{group}/persons", params=params)
            persons.extend(page)
            if len(page) < 1000:
                return persons

    def group_persons(self, group: str) -> list[dict[str, Any]]:
        """The persons of `group`, a person group or else a large person group of that id."""
        try:
            return self.list_persons(group)
        except RequestRefused as exc:
            if exc.code != "PersonGroupNotFound":
                raise
        return self.list_persons(group, large=True)

    def events(self, after: str | None, top: int) -> dict[str, Any]:
        """One page of the service's visit events after the cursor `after` (from the start of the UTC day
        without one): {"events": [...], "next": cursor}."""
        params = {"top": str(top), **({"after": after} if after else {})}
        return self._call("GET", "/api/events", params=params)

    def create_person(self, group: str, name: str) -> str:
        return self._call("POST", f"/face/v1.0/persongroups/{group}/persons", json={"name": name})["personId"]

    def face_user_data(self, group: str, person_id: str, face_id: str) -> str | None:
        path = f"/face/v1.0/persongroups/{group}/persons/{person_id}/persistedfaces/{face_id}"
        return self._call("GET", path).get("userData")

    def add_face(self, group: str, person_id: str, image: bytes, user_data: str) -> str:
        path = f"/face/v1.0/persongroups/{group}/persons/{person_id}/persistedfaces"
        answer = self._call(
            "POST", path, params={"userData": user_data}, data=image, content_type="application/octet-stream"
        )
        return answer["persistedFaceId"]

    def train(self, group: str) -> None:
        self._call("POST", f"/face/v1.0/persongroups/{group}/train")

    def training_status(self, group: str) -> TrainingStatus:
        return TrainingStatus.from_dict(self._call("GET", f"/face/v1.0/persongroups/{group}/training"))

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        data: bytes | None = None,
        content_type: str | None = None,
    ) -> Any:
        headers = {"Content-Type": content_type} if content_type else None
        try:
            response = self.session.request(
                method,
                self.endpoint + path,
                params=params,
                json=json,
                data=data,
                headers=headers,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise BackendUnavailable(f"{self.endpoint} did not answer ({type(exc).__name__})") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise BackendUnavailable(
                f"{self.endpoint} answered {response.status_code}", _seconds(response.headers.get("Retry-After"))
            )
        if response.status_code in (401, 403):
            raise Unauthorized(f"{self.endpoint} refused the key ({response.status_code}): check FACE_API_KEY or --key")
        if response.status_code >= 400:
            code, message = _error_of(response)
            raise RequestRefused(response.status_code, code, message)
        if not response.content:
            return {}
        return response.json()


def _seconds(retry_after: str | None) -> float:
    """A Retry-After in seconds (the form this backend sends); anything else counts as none."""
    try:
        return max(0.0, float(retry_after or 0))
    except ValueError:
        return 0.0


def _error_of(response: requests.Response) -> tuple[str, str]:
    """The Face API's envelope, {"error": {"code", "message"}}, or the status line."""
    try:
        error = response.json()["error"]
        return str(error.get("code") or ""), str(error.get("message") or "")
    except (ValueError, KeyError, TypeError, AttributeError):
        return "", f"{response.status_code} {response.reason}"
