"""The app is ready for `func start` and for deployment: entry point, host.json, settings example."""

from __future__ import annotations

import importlib
import json
import re
import uuid
from pathlib import Path

import azure.functions as func
import pytest
from azure.functions.decorators.http import HttpTrigger

from function_app.api.web import WEB_FUNCTIONS
from function_app.local_host.functions import app_functions
from function_app.local_host.host_config import HostConfig

PROJECT = Path(__file__).resolve().parents[1]


def test_the_entry_point_named_in_the_settings_exposes_the_app():
    settings = json.loads((PROJECT / "local.settings.json.example").read_text())["Values"]
    assert settings["FUNCTIONS_WORKER_RUNTIME"] == "python"
    entry = PROJECT / settings["PYTHON_SCRIPT_FILE_NAME"]
    assert entry.is_file()
    module = importlib.import_module(entry.stem)
    assert isinstance(module.app, func.FunctionApp)


def test_host_json_lets_the_face_api_paths_work_and_bounds_retries():
    host = json.loads((PROJECT / "host.json").read_text())
    assert host["version"] == "2.0"
    assert host["extensions"]["http"]["routePrefix"] == ""
    assert host["extensions"]["queues"]["maxDequeueCount"] == 5  # the README: poison after 5 tries
    assert host["extensionBundle"]["id"] == "Microsoft.Azure.Functions.ExtensionBundle"


def test_the_local_host_reads_host_json_as_the_functions_host_does():
    queues = json.loads((PROJECT / "host.json").read_text())["extensions"]["queues"]
    hours, minutes, seconds = (int(part) for part in queues["visibilityTimeout"].split(":"))
    assert HostConfig.load() == HostConfig(
        route_prefix="",
        max_dequeue_count=5,
        visibility_timeout=hours * 3600 + minutes * 60 + seconds,
        batch_size=queues["batchSize"],
    )


def test_the_local_host_reads_every_value_it_honours_from_the_file(tmp_path):
    """Other values than the defaults, so that a value read from nowhere cannot pass."""
    other = tmp_path / "host.json"
    other.write_text(
        json.dumps(
            {
                "version": "2.0",
                "extensions": {
                    "queues": {"maxDequeueCount": 3, "visibilityTimeout": "01:02:03.5", "batchSize": 7},
                    "http": {"routePrefix": "/v2/"},
                },
            }
        )
    )
    assert HostConfig.load(other) == HostConfig(
        route_prefix="v2", max_dequeue_count=3, visibility_timeout=3723.5, batch_size=7
    )
    other.write_text(json.dumps({"version": "2.0"}))
    assert HostConfig.load(other) == HostConfig()  # the Functions host's own defaults


def test_the_core_never_imports_azure_functions():
    core = [p for p in (PROJECT / "function_app").rglob("*.py") if not p.is_relative_to(PROJECT / "function_app/api")]
    core = [p for p in core if not p.is_relative_to(PROJECT / "function_app/local_host")]
    offenders = [p.name for p in core if re.search(r"^\s*(import|from) azure\.functions", p.read_text(), re.M)]
    assert offenders == []


def test_requirements_pin_what_the_functions_host_imports():
    pins = dict(line.split("==") for line in (PROJECT / "requirements.txt").read_text().splitlines() if "==" in line)
    assert "azure-functions" in pins
    assert all(re.fullmatch(r"[\w.]+", version) for version in pins.values())


def test_funcignore_keeps_tests_and_local_data_out_of_the_package():
    ignored = (PROJECT / ".funcignore").read_text().split()
    assert {"tests", ".venv", "data", "local.settings.json"} <= set(ignored)


IMAGE_FUNCTIONS = {"detect", "add_person_face", "identify_frame"}  # their body is a photo


def _as_the_functions_host_calls(function, testdata, headers: dict[str, str]) -> func.HttpResponse:
    """Call an HTTP function the way the Functions host's Python worker does: a func.HttpRequest with
    the route filled in, passed to the registered function (no local server, so no key made for it)."""
    trigger = function.get_trigger()
    values = {name: f"{name.lower()}-{uuid.uuid4().hex[:8]}" for name in re.findall(r"{(\w+)}", trigger.route)}
    path = trigger.route.format(**values)
    if function.get_function_name() in IMAGE_FUNCTIONS:
        body, content_type = (testdata / "scenes/obama1.jpg").read_bytes(), "application/octet-stream"
    else:
        body, content_type = (
            json.dumps({"name": "intruder", "faceIds": [str(uuid.uuid4())]}).encode(),
            "application/json",
        )
    [method] = trigger.methods
    request = func.HttpRequest(
        str(getattr(method, "value", method)),
        f"https://example.azurewebsites.net/{path}?personGroupId=family",
        headers={"Content-Type": content_type, **headers},
        params={"personGroupId": "family"},
        route_params=values,
        body=body,
    )
    return function.get_user_function()(request)


@pytest.mark.parametrize("configured", [None, "", " , "], ids=["unset", "empty", "only-separators"])
@pytest.mark.parametrize(
    "headers",
    [{}, {"Ocp-Apim-Subscription-Key": "guess"}, {"x-functions-key": "guess"}, {"Ocp-Apim-Subscription-Key": ""}],
    ids=["no-key", "a-guessed-key", "a-guessed-functions-key", "an-empty-key"],
)
def test_without_face_api_key_every_http_function_refuses_in_the_error_envelope(
    monkeypatch, tmp_path, testdata, configured, headers
):
    """On Azure nothing makes a key (only the local server does, in STORAGE_DIR/api-key): the functions
    themselves must refuse every request, and do nothing."""
    data = tmp_path / "data"
    monkeypatch.setenv("STORAGE_BACKEND", "local")
    monkeypatch.setenv("STORAGE_DIR", str(data))
    if configured is None:
        monkeypatch.delenv("FACE_API_KEY", raising=False)
    else:
        monkeypatch.setenv("FACE_API_KEY", configured)
    http_functions = [
        f
        for f in app_functions()
        if isinstance(f.get_trigger(), HttpTrigger)
        and f.get_function_name() not in WEB_FUNCTIONS
        and f.get_function_name() != "health"  # health needs no key
    ]
    # with large person groups, operations, face lists, find-similar, group, visits, Unknown visitors, events,
    # webhooks, cameras, face photos and metrics
    assert len(http_functions) == 78
    for function in http_functions:
        response = _as_the_functions_host_calls(function, testdata, headers)
        name = function.get_function_name()
        assert response.status_code == 401, name
        assert response.mimetype == "application/json", name
        assert json.loads(response.get_body()) == {
            "error": {"code": "401", "message": "Access denied: the server has no FACE_API_KEY configured."}
        }, name
    assert not (data / "api-key").exists()
    assert [p for p in data.rglob("*") if p.is_file()] == []  # no group, person, face, sighting or job written
