"""The answers the local host makes itself, over real HTTP to a real waitress on a free port: a body over the
limit, a request waitress cannot parse, a function that raises or answers nothing. Each is JSON in the Face
API's error envelope, never plain text or a traceback."""

from __future__ import annotations

import contextlib
import json
import logging
import uuid

import azure.functions as func
import pytest
import requests
from waitress.server import create_server

from function_app.local_host.functions import app_functions
from function_app.local_host.host_config import HostConfig
from function_app.local_host.routes import Router
from function_app.local_host.server import MAX_REQUEST_BODY, create_host, create_wsgi_server
from function_app.local_host.wsgi import FunctionsWsgiApp

from .support.in_process_server import serving
from .support.raw_http import send_head_only

KEY = f"host-{uuid.uuid4().hex}"
TOO_LARGE = {"error": {"code": "InvalidImageSize", "message": "The request body is too large."}}
INTERNAL_ERROR = {"error": {"code": "InternalServerError", "message": "The server failed to handle the request."}}


@pytest.fixture(scope="module")
def served_host(tmp_path_factory):
    """`create_host` as `python -m function_app serve` builds it (the app, its limits, its waitress), served from
    a thread on a free port."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FACE_API_KEY", KEY)
        env.setenv("STORAGE_BACKEND", "local")
        env.setenv("STORAGE_DIR", str(tmp_path_factory.mktemp("host") / "data"))
        local = create_host(port=0)
        with serving(local.server) as url:
            yield url


def test_a_body_over_the_limit_is_refused_in_the_envelope_before_it_is_sent(served_host):
    status, content_type, body = send_head_only(
        served_host,
        "/face/v1.0/detect",
        {"Ocp-Apim-Subscription-Key": KEY, "Content-Length": str(MAX_REQUEST_BODY + 1)},
    )
    assert (status, content_type) == (413, "application/json")
    assert json.loads(body) == TOO_LARGE


def test_a_request_waitress_cannot_parse_is_refused_in_the_envelope(served_host):
    status, content_type, body = send_head_only(
        served_host, "/face/v1.0/detect", {"Ocp-Apim-Subscription-Key": KEY, "Content-Length": "12x"}
    )
    assert (status, content_type) == (400, "application/json")
    assert json.loads(body) == {"error": {"code": "BadArgument", "message": "Bad Request: Content-Length is invalid."}}


def test_a_body_of_exactly_the_limit_reaches_the_function(served_host):
    reply = requests.post(
        f"{served_host}/face/v1.0/detect",
        data=bytes(MAX_REQUEST_BODY),
        headers={"Ocp-Apim-Subscription-Key": KEY, "Content-Type": "application/octet-stream"},
        timeout=120,
    )
    assert reply.json()["error"] == {
        "code": "InvalidImageSize",
        "message": f"The image is {MAX_REQUEST_BODY} bytes; the largest accepted is {6 * 1024 * 1024} bytes.",
    }


@pytest.fixture(scope="module")
def photo(testdata) -> bytes:
    return (testdata / "people/obama/1.jpg").read_bytes()


@pytest.fixture(scope="module")
def app_limited_to(tmp_path_factory):
    """The app with a smaller body limit than its waitress' (whose own is the default 1 GB): so the app's own
    check answers, as it would under any WSGI server."""

    @contextlib.contextmanager
    def serve(max_body: int):
        app = FunctionsWsgiApp(Router(app_functions(), HostConfig.load().route_prefix), max_body)
        with serving(create_server(app, host="127.0.0.1", port=0, threads=2)) as url:
            yield url

    with pytest.MonkeyPatch.context() as env:
        env.setenv("FACE_API_KEY", KEY)
        env.setenv("STORAGE_BACKEND", "local")
        env.setenv("STORAGE_DIR", str(tmp_path_factory.mktemp("app-limit") / "data"))
        yield serve


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_the_app_s_own_limit_refuses_a_body_one_byte_over_in_the_envelope(app_limited_to, photo, chunked):
    headers = {"Ocp-Apim-Subscription-Key": KEY, "Content-Type": "application/octet-stream"}
    with app_limited_to(len(photo) - 1) as url:
        body = iter([photo[:1000], photo[1000:]]) if chunked else photo
        refused = requests.post(f"{url}/face/v1.0/detect", data=body, headers=headers, timeout=60)
    assert (refused.status_code, refused.headers["Content-Type"]) == (413, "application/json")
    assert refused.json() == TOO_LARGE
    with app_limited_to(len(photo)) as url:
        body = iter([photo[:1000], photo[1000:]]) if chunked else photo
        accepted = requests.post(f"{url}/face/v1.0/detect", data=body, headers=headers, timeout=60)
    assert accepted.status_code == 200 and len(accepted.json()) == 1  # the whole photo, its one face


SECRET = f"secret-{uuid.uuid4().hex}"


def _functions_that_fail() -> FunctionsWsgiApp:
    """A Functions app of three HTTP functions: one raises, one answers nothing, one works."""
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.route(route="raises", methods=["GET"])
    def raises(req: func.HttpRequest) -> func.HttpResponse:
        raise RuntimeError(f"unexpected, with {SECRET} in its message")

    @app.route(route="answers-nothing", methods=["GET"])
    def answers_nothing(req: func.HttpRequest) -> func.HttpResponse:
        return None  # type: ignore[return-value]

    @app.route(route="works", methods=["GET"])
    def works(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("fine")

    return FunctionsWsgiApp(Router(app.get_functions(), ""), max_body=1024)


def test_a_function_that_raises_answers_500_in_the_envelope_without_a_traceback(caplog):
    """The app's own answer: under a plain waitress, which would answer its own plain text otherwise."""
    app = _functions_that_fail()
    with caplog.at_level(logging.ERROR), serving(create_server(app, host="127.0.0.1", port=0)) as url:
        reply = requests.get(f"{url}/raises", timeout=60)
        assert requests.get(f"{url}/works", timeout=60).text == "fine"  # the server carries on
    assert (reply.status_code, reply.headers["Content-Type"]) == (500, "application/json")
    assert reply.json() == INTERNAL_ERROR
    assert "Traceback" not in reply.text and SECRET not in reply.text
    [logged] = [r for r in caplog.records if r.getMessage() == "Unhandled error in raises"]
    assert SECRET in str(logged.exc_info[1])  # the cause is in the log, not in the answer


def test_the_host_s_waitress_answers_its_own_500_in_the_envelope():
    """A function answering no HttpResponse fails after the app's try: waitress answers, in the envelope."""
    with serving(create_wsgi_server(_functions_that_fail(), "127.0.0.1", 0, 2)) as url:
        reply = requests.get(f"{url}/answers-nothing", timeout=60)
        assert requests.get(f"{url}/works", timeout=60).text == "fine"
    assert (reply.status_code, reply.headers["Content-Type"]) == (500, "application/json")
    assert reply.json() == INTERNAL_ERROR
    assert "Traceback" not in reply.text
