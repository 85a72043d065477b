"""Calls to the Azure Face API through its SDK, signed in with a key or a Microsoft Entra identity:
throttling retried as the service asks, and every failure turned into a FaceApiError that says
what went wrong (never the key).

The service answers 429 with a `Retry-After` header when a resource's rate limit is exceeded (20
calls a second on the standard tier); calls go through `call`, which waits as asked and tries again a
few times (the SDK's transport is told not to retry them as well).
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from azure.cognitiveservices.vision.face import FaceClient
from azure.cognitiveservices.vision.face.models import APIErrorException
from azure.core.credentials import TokenCredential
from azure.core.exceptions import ClientAuthenticationError
from msrest.authentication import Authentication, CognitiveServicesCredentials
from msrest.exceptions import ClientRequestError, ValidationError

from ...errors import BadArgument, FaceApiError, UpstreamError, UpstreamUnavailable, error_for
from ...models import FaceRectangle

T = TypeVar("T")
log = logging.getLogger(__name__)

THROTTLED = 429
MAX_ATTEMPTS = 5
# Wait at most this long for one retry, and in all: an HTTP function has about 230 s on Azure.
MAX_WAIT_SECONDS = 30.0
MAX_TOTAL_WAIT_SECONDS = 60.0
# Connection failures and 5xx answers are retried by the SDK's transport, with backoff.
TRANSPORT_RETRIES = 2
COGNITIVE_SERVICES_SCOPE = "https://cognitiveservices.azure.com/.default"


class EntraSignIn(Authentication):
    """Microsoft Entra sign-in instead of a key: a bearer token on every request, from an azure-identity
    credential (which caches it and renews it before it expires). The Face resource needs a custom
    subdomain endpoint and the identity the Cognitive Services User role."""

    def __init__(self, credential: TokenCredential):
        self.credential = credential

    def signed_session(self, session: requests.Session | None = None) -> requests.Session:
        session = super().signed_session(session)  # msrest calls this before each request
        session.headers["Authorization"] = f"Bearer {self.credential.get_token(COGNITIVE_SERVICES_SCOPE).token}"
        return session


def create_face_client(endpoint: str, key: str, credential: TokenCredential | None = None) -> FaceClient:
    """With a key, the key; without one, `credential` signs in with Microsoft Entra."""
    if not endpoint:
        raise ValueError("FACE_ENGINE=azure needs AZURE_FACE_ENDPOINT to be set.")
    authentication: Authentication
    if key:
        authentication = CognitiveServicesCredentials(key)
    elif credential is not None:
        authentication = EntraSignIn(credential)
    else:
        raise ValueError("FACE_ENGINE=azure needs AZURE_FACE_KEY, or an identity to sign in with.")
    client = FaceClient(endpoint.rstrip("/"), authentication)
    client.config.retry_policy.retries = TRANSPORT_RETRIES
    # A 429 is retried by `call` alone, as its Retry-After asks: urllib3 would otherwise retry it too
    # (it honours Retry-After on 429/503 by default), multiplying the calls and the wait.
    client.config.retry_policy.policy.respect_retry_after_header = False
    client.config.connection.timeout = 30  # seconds to connect and between bytes read
    return client


def target_face_param(target: FaceRectangle | None) -> list[int] | None:
    """targetFace as the SDK sends it: [left, top, width, height]."""
    return [target.left, target.top, target.width, target.height] if target else None


def retry_delay(retry_after: str | None, attempt: int) -> float:
    """Seconds to wait before the next try: the service's `Retry-After` (seconds or an HTTP date),
    else an exponential backoff from 1 s."""
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            pass
        try:
            return max(0.0, email.utils.parsedate_to_datetime(retry_after).timestamp() - time.time())
        except (TypeError, ValueError):
            pass  # neither form: back off as if it were absent
    return float(2**attempt)


def call(operation: Callable[[], T], endpoint: str, *, sleep: Callable[[float], None] = time.sleep) -> T:
    """Run one SDK call (a fresh callable per try, so a stream body is read anew), retrying 429."""
    waited = 0.0
    for attempt in range(MAX_ATTEMPTS):
        try:
            return operation()
        except APIErrorException as exc:
            response = exc.response
            if response.status_code != THROTTLED:
                raise upstream_error(exc) from None
            delay = min(retry_delay(response.headers.get("Retry-After"), attempt), MAX_WAIT_SECONDS)
            if attempt == MAX_ATTEMPTS - 1 or waited + delay > MAX_TOTAL_WAIT_SECONDS:
                raise throttled_error(exc, attempt + 1, waited) from None
            log.warning("The Azure Face API throttled a call (429); trying again in %.1f s.", delay)
            sleep(delay)
            waited += delay
        except ClientAuthenticationError as exc:  # the identity could not get a token
            raise UpstreamError(
                f"This app's identity could not sign in to the Azure Face API ({exc.message}); "
                "set AZURE_FACE_KEY, or check AZURE_CLIENT_ID and the identity's role on the Face resource.",
                "Unauthorized",
                502,
            ) from None
        except ValidationError as exc:  # the SDK checks some limits before sending: Azure's answer to them
            raise BadArgument(f"Invalid argument: {exc}") from None
        except ClientRequestError as exc:
            raise UpstreamUnavailable(
                f"The Azure Face API at {endpoint} cannot be reached ({type(exc.inner_exception or exc).__name__}); "
                "check AZURE_FACE_ENDPOINT and the network."
            ) from None
    raise AssertionError("unreachable")


def _error_of(exc: APIErrorException) -> tuple[str, str]:
    body: Any = None
    with contextlib.suppress(ValueError):  # not JSON: the status says it all
        body = exc.response.json()
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("code") or exc.response.status_code), str(error.get("message") or "")
    return str(exc.response.status_code), exc.response.reason or ""


def upstream_error(exc: APIErrorException) -> FaceApiError:
    status = exc.response.status_code
    code, message = _error_of(exc)
    if status in (401, 403):
        # The app's own key to Azure was refused: the client's key was fine, so not a 401 for it.
        return UpstreamError(
            f"The Azure Face API refused this app's credentials ({status} {code}: {message}); "
            "check AZURE_FACE_KEY and, for identification, the resource's Limited Access approval.",
            code,
            502,
        )
    if status >= 500:
        return UpstreamError(f"The Azure Face API failed ({status} {code}): {message}", code, 502)
    message = message or f"The Azure Face API answered {status} {code}."
    return error_for(code, status, message) or UpstreamError(message, code, status)


def throttled_error(exc: APIErrorException, attempts: int, waited: float) -> UpstreamError:
    code, message = _error_of(exc)
    retry_after = exc.response.headers.get("Retry-After")
    seconds = round(retry_delay(retry_after, attempts)) if retry_after else None
    return UpstreamError(
        f"The Azure Face API is throttling this app: still 429 after {attempts} tries over {waited:.0f} s "
        f"({message or 'rate limit exceeded'}). Slow down, or raise the resource's tier.",
        code,
        THROTTLED,
        retry_after=seconds,
    )
