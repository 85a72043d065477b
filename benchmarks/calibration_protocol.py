"""The calibration protocol, through the HTTP API as a client sees it: strangers named, known people right,
for the earlier decision rule and the calibrated one, side by side in one run.

    python -m benchmarks.calibration_protocol [--data ../shared/testdata/calibration] [--people N --strangers M]

For each rule (FACE_MATCH_RULE=nearest, then calibrated) the service runs in this process (the local
host on a free port, local storage in a temporary folder, otherwise the default settings). Photos 1-3
of each of the 60 known people are enrolled with the Face API's routes (the central face of each
250x250 LFW photo, as targetFace), the group is trained, then photos 4-6 of each known person (180
probes) and the 120 strangers are sent to detect + identify. The central face of each probe counts.
Prints each rule's default operating point and its trade-off as the confidence cut-off moves
(identify is asked with confidenceThreshold=0, so every decision comes from one pass), and how well
the calibrated rule's confidence matches the share of right names. --people and --strangers take an
evenly spread subset (the tests run a small one).
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import requests

from function_app.faceapi.local.matching import DEFAULT_CONFIDENCE_THRESHOLD, NEAREST_CONFIDENCE_THRESHOLD

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "calibration"
KEY = "calibration-key"
GROUP = "calibration"
LFW_CENTRE = "50,50,150,150"  # left,top,width,height: the labelled face of a 250x250 LFW photo
ENROLLED, PROBED = (1, 2, 3), (4, 5, 6)
RULES = {"nearest": NEAREST_CONFIDENCE_THRESHOLD, "calibrated": DEFAULT_CONFIDENCE_THRESHOLD}
CUT_OFFS = {
    "nearest": (0.30, 0.40, 0.45, 0.50, 0.55, 0.60, 0.65, 0.70),
    "calibrated": (0.05, 0.20, 0.35, 0.50, 0.60, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95, 0.99),
}
RELIABILITY_BINS = (0.0, 0.2, 0.5, 0.8, 0.95, 1.0)


@dataclass(frozen=True)
class Probe:
    expected: str | None  # the person's name; None for a stranger
    named: str | None  # the best candidate's name
    confidence: float  # the best candidate's confidence (0 without one)


@dataclass(frozen=True)
class Tally:
    right: int
    wrong: int
    missed: int
    strangers_named: int

    @classmethod
    def at(cls, probes: Sequence[Probe], cut_off: float) -> Tally:
        def named(p: Probe) -> str | None:
            return p.named if p.named is not None and p.confidence >= cut_off else None

        known = [p for p in probes if p.expected is not None]
        return cls(
            right=sum(named(p) == p.expected for p in known),
            wrong=sum(named(p) not in (None, p.expected) for p in known),
            missed=sum(named(p) is None for p in known),
            strangers_named=sum(named(p) is not None for p in probes if p.expected is None),
        )


@dataclass(frozen=True)
class Run:
    """One rule's pass over the protocol."""

    rule: str
    probes: list[Probe]
    training: str
    refused: list[str]
    enrolled_in: float
    probed_in: float

    @property
    def default(self) -> Tally:
        return Tally.at(self.probes, RULES[self.rule])

    def best_within(self, strangers: int) -> tuple[float, Tally] | None:
        """The cut-off naming the most known probes right with at most `strangers` named and none wrong."""
        cut_offs = sorted({p.confidence for p in self.probes if p.confidence > 0})
        allowed = [
            (c, t) for c in cut_offs if (t := Tally.at(self.probes, c)).strangers_named <= strangers and t.wrong == 0
        ]
        return max(allowed, key=lambda ct: (ct[1].right, -ct[0])) if allowed else None


def central_face(faces: list[dict]) -> dict | None:
    def distance(face: dict) -> float:
        r = face["faceRectangle"]
        return (r["left"] + r["width"] / 2 - 125) ** 2 + (r["top"] + r["height"] / 2 - 125) ** 2

    return min(faces, key=distance) if faces else None


def spread(items: list[Path], count: int | None) -> list[Path]:
    """`count` items evenly spread over the list (all of them without a count)."""
    if count is None or count >= len(items):
        return items
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def run_protocol(rule: str, known: list[Path], strangers: list[Path]) -> Run:
    settings = {"STORAGE_BACKEND": "local", "FACE_API_KEY": KEY, "FACE_MATCH_RULE": rule}
    # The host reads its settings from the environment: set for this run only.
    with tempfile.TemporaryDirectory() as folder, mock.patch.dict(os.environ, {**settings, "STORAGE_DIR": folder}):
        from function_app.local_host.server import create_host

        host = create_host(port=0)
        threading.Thread(target=host.run, daemon=True).start()  # with its queue worker, which trains
        try:
            return _through(host.url, rule, known, strangers)
        finally:
            host.close()


def _through(base_url: str, rule: str, known: list[Path], strangers: list[Path]) -> Run:
    with requests.Session() as api:
        api.headers["Ocp-Apim-Subscription-Key"] = KEY
        return _protocol(api, base_url, rule, known, strangers)


def _protocol(api: requests.Session, base_url: str, rule: str, known: list[Path], strangers: list[Path]) -> Run:
    url = f"{base_url}/face/v1.0"

    def ok(reply: requests.Response) -> requests.Response:
        if reply.status_code >= 400:
            raise SystemExit(f"{reply.request.method} {reply.url}: {reply.status_code} {reply.text}")
        return reply

    started = time.perf_counter()
    ok(api.put(f"{url}/persongroups/{GROUP}", json={"name": "calibration"}))
    names: dict[str, str] = {}
    refused: list[str] = []
    for person in known:
        person_id = ok(api.post(f"{url}/persongroups/{GROUP}/persons", json={"name": person.name})).json()
        names[person_id["personId"]] = person.name
        for n in ENROLLED:
            reply = api.post(
                f"{url}/persongroups/{GROUP}/persons/{person_id['personId']}/persistedfaces",
                params={"targetFace": LFW_CENTRE},
                data=(person / f"{n}.jpg").read_bytes(),
                headers={"Content-Type": "application/octet-stream"},
            )
            if reply.status_code != 200:
                refused.append(f"{person.name}/{n}.jpg: {reply.json()['error']['message']}")
    ok(api.post(f"{url}/persongroups/{GROUP}/train"))
    while (status := ok(api.get(f"{url}/persongroups/{GROUP}/training")).json())["status"] == "running":
        time.sleep(0.2)
    enrolled_in = time.perf_counter() - started

    def probe(photo: Path, expected: str | None) -> Probe:
        faces = ok(
            api.post(f"{url}/detect", data=photo.read_bytes(), headers={"Content-Type": "application/octet-stream"})
        ).json()
        face = central_face(faces)
        if face is None:
            return Probe(expected, None, 0.0)
        body = {"personGroupId": GROUP, "faceIds": [face["faceId"]], "confidenceThreshold": 0.0}
        candidates = ok(api.post(f"{url}/identify", json=body)).json()[0]["candidates"]
        if not candidates:
            return Probe(expected, None, 0.0)
        return Probe(expected, names[candidates[0]["personId"]], candidates[0]["confidence"])

    started = time.perf_counter()
    probes = [probe(person / f"{n}.jpg", person.name) for person in known for n in PROBED]
    probes += [probe(photo, None) for photo in strangers]
    training = f"{status['status']} ({status['message']})"
    return Run(rule, probes, training, refused, enrolled_in, time.perf_counter() - started)


def report(runs: list[Run], known_count: int, stranger_count: int) -> None:
    known_probes = known_count * len(PROBED)
    print(f"calibration set: {known_count} known people (photos 1-3 enrolled, {known_probes} probes)", end="")
    print(f", {stranger_count} strangers")
    for run in runs:
        print(f"FACE_MATCH_RULE={run.rule}: training {run.training}; {len(run.refused)} enrollment photos refused")
        for line in run.refused:
            print(f"  refused {line}")
        print(f"  through HTTP: enrollment and training {run.enrolled_in:.1f} s, probes {run.probed_in:.1f} s")
    print()
    print("Side by side, at each rule's default cut-off and at its best cut-off for a number of strangers named:")
    print()
    print("| rule | cut-off | known right | known wrong | known missed | strangers named |")
    print("|---|---|---|---|---|---|")
    for run in runs:
        rows = [("default", RULES[run.rule], run.default)]
        for allowed in (0, 1, 2):
            if (best := run.best_within(allowed)) is not None:
                rows.append((f"best with ≤ {allowed} strangers", *best))
        for label, cut_off, t in rows:
            print(
                f"| {run.rule} | {cut_off:.3f} ({label}) | {t.right} / {known_probes} | {t.wrong} | {t.missed} | "
                f"{t.strangers_named} / {stranger_count} |"
            )
    for run in runs:
        print()
        print(f"The trade-off of FACE_MATCH_RULE={run.rule}:")
        print()
        print("| confidence cut-off | known right | known wrong | known missed | strangers named |")
        print("|---|---|---|---|---|")
        for cut_off in sorted({*CUT_OFFS[run.rule], RULES[run.rule]}):
            t = Tally.at(run.probes, cut_off)
            mark = " (default)" if cut_off == RULES[run.rule] else ""
            print(
                f"| {cut_off:.2f}{mark} | {t.right} / {known_probes} | {t.wrong} | {t.missed} | "
                f"{t.strangers_named} / {stranger_count} |"
            )
    calibrated = [run for run in runs if run.rule == "calibrated"]
    if calibrated:
        print()
        print("The calibrated confidence against what happened (the best candidate of every probe):")
        print()
        print("| confidence | probes | mean confidence | named right |")
        print("|---|---|---|---|")
        probes = calibrated[0].probes
        for low, high in itertools.pairwise(RELIABILITY_BINS):
            inside = [p for p in probes if low <= p.confidence < high or (high == 1.0 and p.confidence == 1.0)]
            if inside:
                mean = sum(p.confidence for p in inside) / len(inside)
                right = sum(p.named == p.expected for p in inside) / len(inside)
                print(f"| {low:.2f}–{high:.2f} | {len(inside)} | {mean:.2f} | {right:.2f} |")


def main(argv: list[str] | None = None) -> list[Run]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--people", type=int, help="known people to use (evenly spread; default all)")
    parser.add_argument("--strangers", type=int, help="strangers to use (evenly spread; default all)")
    parser.add_argument("--rules", default=",".join(RULES), help="comma-separated FACE_MATCH_RULE values")
    args = parser.parse_args(argv)
    known = spread(sorted(p for p in (args.data / "known").iterdir() if p.is_dir()), args.people)
    strangers = spread(sorted((args.data / "unknown").glob("*.jpg"), key=lambda p: int(p.stem)), args.strangers)
    runs = [run_protocol(rule, known, strangers) for rule in args.rules.split(",")]
    report(runs, len(known), len(strangers))
    return runs


if __name__ == "__main__":
    main()
