"""The fault suite (benchmarks/fault_suite.py) at a bounded size, as CI runs it: every route with each bad input
that applies, corrupt blobs of each kind, a read-only data folder, the server killed mid-enrollment and
mid-training, Azurite killed mid-stream. Each input must be answered cleanly and each fault survived; the run
takes about a minute and a half (two leases of 30 s and Azurite's 5 s save interval are most of it)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


def test_the_fault_suite_handles_every_input_cleanly_and_survives_every_fault(testdata):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.fault_suite",
            "--data",
            str(testdata),
            "--stream-seconds",
            "7",
            "--frames-while-down",
            "2",
        ],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = re.search(
        r"inputs tried: (\d+), handled cleanly: (\d+); faults survived: (\d+) of (\d+); records lost: (\d+)",
        result.stdout,
    )
    assert summary, result.stdout + result.stderr
    tried, clean, survived, faults, _lost = map(int, summary.groups())
    failures = [line for line in result.stdout.splitlines() if "| NO |" in line]
    assert result.returncode == 0 and not failures, "\n".join(failures) or result.stderr
    assert tried >= 200 and clean == tried
    assert faults >= 12 and survived == faults
    for fault in (
        "server killed mid-enrollment",
        "server killed mid-training",
        "Azurite killed mid-stream",
        "read-only data folder",
        "corrupt training status",
    ):
        assert f"| {fault} | yes |" in result.stdout
