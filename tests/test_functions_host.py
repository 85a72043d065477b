"""The app is ready for `func start` and for deployment: entry point, host.json, settings example."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import azure.functions as func

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
