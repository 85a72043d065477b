"""The README's SDK example, run as a user runs it: the very ```python block under "### The Python SDK",
with the project's interpreter (.venv/bin/python, as the README says), against a real server. It must
name the face of its probe photo, and a second run must work too (the group and persons are reused)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from .support.service import PROJECT, start_server, stop_server

README = PROJECT / "README.md"
MARKER = "### The Python SDK"
KEY = f"readme-{uuid.uuid4().hex}"
# The interpreter the README tells users to run the example with; the one running the tests otherwise
# (a worktree without its own .venv).
VENV_PYTHON = PROJECT / ".venv" / "bin" / "python"
PYTHON = VENV_PYTHON if VENV_PYTHON.exists() else Path(sys.executable)


def sdk_example() -> str:
    text = README.read_text()
    assert MARKER in text, f"README.md has no {MARKER!r} heading"
    after = text[text.index(MARKER) :]
    match = re.search(r"^```python\n(.*?)^```$", after, flags=re.DOTALL | re.MULTILINE)
    assert match, f"no ```python block after {MARKER!r} in README.md"
    return match.group(1)


def test_the_readme_says_which_interpreter_runs_the_example():
    text = README.read_text()
    section = text[text.index(MARKER) : text.index("```python", text.index(MARKER))]
    assert ".venv/bin/python example.py" in section


def run_example(example: Path, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """`.venv/bin/python example.py`, in `cwd`, with only the given FACE_ENDPOINT / FACE_API_KEY."""
    environment = {k: v for k, v in os.environ.items() if k not in ("FACE_ENDPOINT", "FACE_API_KEY")}
    return subprocess.run(
        [str(PYTHON), str(example)],
        cwd=cwd,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory, testdata):
    folder = tmp_path_factory.mktemp("readme-server")
    env = {"FACE_API_KEY": KEY, "STORAGE_BACKEND": "local", "STORAGE_DIR": str(folder / "data")}
    process, endpoint = start_server(env, folder / "server.log")
    yield endpoint
    stop_server(process)


def test_the_sdk_example_names_the_face_and_runs_again(server, tmp_path, testdata):
    example = tmp_path / "example.py"
    example.write_text(sdk_example())
    # Twice from the project's root with the key in the environment, as a user with FACE_API_KEY set.
    runs = [run_example(example, PROJECT, FACE_ENDPOINT=server, FACE_API_KEY=KEY) for _ in range(2)]
    # Then from a checkout whose key scripts/run wrote to data/api-key, with ../shared beside it.
    checkout = tmp_path / "checkout"
    (checkout / "data").mkdir(parents=True)
    (checkout / "data" / "api-key").write_text(KEY + "\n")
    (tmp_path / "shared").symlink_to(PROJECT.parent / "shared")
    runs.append(run_example(example, checkout, FACE_ENDPOINT=server))

    for number, run in enumerate(runs, 1):
        assert run.returncode == 0, f"run {number} failed:\n{run.stderr}"
        assert re.fullmatch(r"obama \(confidence [01]\.\d\d\)", run.stdout.strip()), run.stdout

    # Running again reused the group and its persons: one each, with their photos once.
    headers = {"Ocp-Apim-Subscription-Key": KEY}
    persons = requests.get(f"{server}/face/v1.0/persongroups/familia/persons", headers=headers, timeout=10).json()
    photos = {name: len(list((testdata / "people" / name).iterdir())) for name in ("obama", "biden")}
    assert {p["name"]: len(p["persistedFaceIds"]) for p in persons} == photos
