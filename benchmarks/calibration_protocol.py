"""The calibration protocol, through the HTTP API as a client sees it: strangers named, known people right.

    python -m benchmarks.calibration_protocol [--data ../shared/testdata/calibration]

The service runs in this process (the local host on a free port, local storage in a temporary folder,
the default settings). Photos 1-3 of each of the 60 known people are enrolled with the Face API's
routes (the central face of each 250x250 LFW photo, as targetFace), the group is trained, then photos
4-6 of each known person (180 probes) and the 120 strangers are sent to detect + identify. The central
face of each probe counts. Prints the default operating point, and the trade-off as the confidence
cut-off moves (identify is asked with confidenceThreshold=0, so every decision comes from one run).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "calibration"
KEY = "calibration-key"
GROUP = "calibration"
LFW_CENTRE = "50,50,150,150"  # left,top,width,height: the labelled face of a 250x250 LFW photo
ENROLLED, PROBED = (1, 2, 3), (4, 5, 6)
CUT_OFFS = (0.30, 0.40, 0.45, 0.50, 0.55, 0.60, 0.65, 0.70)
DEFAULT_CUT_OFF = 0.5  # identify's default confidenceThreshold


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
    def at(cls, probes: list[Probe], cut_off: float) -> Tally:
        def named(p: Probe) -> str | None:
            return p.named if p.named is not None and p.confidence >= cut_off else None

        known = [p for p in probes if p.expected is not None]
        return cls(
            right=sum(named(p) == p.expected for p in known),
            wrong=sum(named(p) not in (None, p.expected) for p in known),
            missed=sum(named(p) is None for p in known),
            strangers_named=sum(named(p) is not None for p in probes if p.expected is None),
        )


def central_face(faces: list[dict]) -> dict | None:
    def distance(face: dict) -> float:
        r = face["faceRectangle"]
        return (r["left"] + r["width"] / 2 - 125) ** 2 + (r["top"] + r["height"] / 2 - 125) ** 2

    return min(faces, key=distance) if faces else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    known = sorted(p for p in (args.data / "known").iterdir() if p.is_dir())
    strangers = sorted((args.data / "unknown").glob("*.jpg"), key=lambda p: int(p.stem))
    with tempfile.TemporaryDirectory() as folder:
        os.environ.update(STORAGE_BACKEND="local", STORAGE_DIR=folder, FACE_API_KEY=KEY)
        from function_app.local_host.server import create_host

        host = create_host(port=0)
        threading.Thread(target=host.run, daemon=True).start()  # with its queue worker, which trains
        api = requests.Session()
        api.headers["Ocp-Apim-Subscription-Key"] = KEY
        url = f"{host.url}/face/v1.0"

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
        probed_in = time.perf_counter() - started
        host.close()

    known_probes = len(known) * len(PROBED)
    print(f"calibration set: {len(known)} known people (photos 1-3 enrolled, {known_probes} probes)", end="")
    print(f", {len(strangers)} strangers")
    print(f"training: {status['status']} ({status['message']}); {len(refused)} enrollment photos refused")
    for line in refused:
        print(f"  refused {line}")
    print(f"through HTTP: enrollment and training {enrolled_in:.1f} s, {len(probes)} probes {probed_in:.1f} s")
    print()
    print("| confidence cut-off | known right | known wrong | known missed | strangers named |")
    print("|---|---|---|---|---|")
    for cut_off in sorted({*CUT_OFFS, DEFAULT_CUT_OFF}):
        t = Tally.at(probes, cut_off)
        mark = " (default)" if cut_off == DEFAULT_CUT_OFF else ""
        print(
            f"| {cut_off:.2f}{mark} | {t.right} / {known_probes} | {t.wrong} | {t.missed} | "
            f"{t.strangers_named} / {len(strangers)} |"
        )


if __name__ == "__main__":
    main()
