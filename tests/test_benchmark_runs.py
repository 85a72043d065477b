"""The benchmark script keeps working (its figures are read by people, not asserted here)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "module", ["benchmarks.bench_pipeline", "benchmarks.calibrate_threshold", "benchmarks.bench_service"]
)
def test_script_runs_and_prints_figures(testdata, module):
    # Look the baseline up without importing it: face_recognition switches Pillow's global
    # LOAD_TRUNCATED_IMAGES on at import, which would change how this process decodes images.
    if module.endswith("pipeline") and importlib.util.find_spec("face_recognition") is None:
        pytest.skip("the baseline package face_recognition is installed by scripts/setup")
    args = [] if module.endswith("threshold") else ["--repeat", "2"]
    result = subprocess.run(
        [sys.executable, "-m", module, *args, "--data", str(testdata)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    expected = {"pipeline": "frames per second", "threshold": "unknown-rejected", "service": "ratio prototype"}
    assert expected[module.rsplit("_", 1)[1]] in result.stdout


def test_the_calibration_protocol_runs_through_the_http_api(testdata):
    calibration = testdata.parent / "calibration"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.calibration_protocol", "--data", str(calibration)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "training: succeeded" in result.stdout and "(default) |" in result.stdout
