"""The web page in a real browser (Debian's Chromium, headless, driven by Playwright) against the real server on
real photos: enroll two people by upload, see a refused photo's reason, train, post the dev video's frames from
the Camera page, see the visits with snapshots (and a camera's new visit come in live), see a camera's latest frame
with its names, name an Unknown visitor, delete a person. Each page is saved
as a screenshot at desktop and phone sizes in test-output/web/ (looked at by a person, not compared)."""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from .support.dev_video import FRONTAL, post_frame, video_frames
from .support.images import blank_jpeg, still_camera
from .support.service import PROJECT, serving

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed: pip install -r requirements-dev.txt"
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
KEY = f"key-{uuid.uuid4().hex}"
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
SCREENSHOTS = PROJECT / "test-output" / "web"
CLOSE_SECONDS = 1.0  # VISIT_CLOSE_SECONDS: the next frame after this closes the visits it does not see
PEOPLE = {"Barack Obama": "obama", "Lin-Manuel Miranda": "lin_manuel_miranda"}
WAIT_MS = 60_000
GUEST = "Vladimir Putin"
STRANGER = "people_lfw/vladimir_putin/2.jpg"  # enrolled by nobody: an Unknown visitor


@pytest.fixture(scope="module")
def server(tmp_path_factory, testdata) -> Iterator[str]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium: run scripts/setup (apt-get install chromium)")
    folder = tmp_path_factory.mktemp("web-browser")
    env = {
        "FACE_API_KEY": KEY,
        "STORAGE_BACKEND": "local",
        "STORAGE_DIR": str(folder / "data"),
        "VISIT_CLOSE_SECONDS": str(CLOSE_SECONDS),
    }
    with serving(env, folder / "server.log") as url:
        yield url


@pytest.fixture(scope="module")
def page(server) -> Iterator:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=SIZES["desktop"], base_url=server)
        context.set_default_timeout(WAIT_MS)
        sync_api.expect.set_options(timeout=WAIT_MS)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        try:
            yield page
        finally:
            browser.close()


def screenshots(page, name: str) -> None:
    """The page as it is now at both sizes, whole (a phone scrolls)."""
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        page.wait_for_timeout(100)  # layout settles
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{size}.png"), full_page=True)
    page.set_viewport_size(SIZES["desktop"])


def upload_to_camera(page, camera: str, photo: bytes, answer: str) -> None:
    """A photo dropped on the Camera page's test upload as `camera`'s frame; waits for its answer."""
    page.fill("#test-camera", camera)
    page.set_input_files("#test-file", {"name": f"{camera}.jpg", "mimeType": "image/jpeg", "buffer": photo})
    sync_api.expect(page.locator("#test-status")).to_have_text(answer)


def go(page, name: str) -> None:
    page.click(f"nav a[data-page='{name}']")
    sync_api.expect(page.locator(f"#page-{name}")).to_be_visible()


def test_a_person_enrolls_reviews_names_and_deletes_in_the_browser(page, server, testdata):
    expect = sync_api.expect

    # The key prompt comes first; the key stays in the browser.
    page.goto("/")
    expect(page.locator("#key-dialog")).to_be_visible()
    screenshots(page, "key")
    page.fill("#key-input", KEY)
    page.click("#key-form button[type=submit]")
    expect(page.locator("#notice")).to_contain_text("There is no person group yet")
    screenshots(page, "people-empty")

    page.click("#new-group")
    page.fill("#group-id", "family")
    page.fill("#group-name", "Family")
    page.click("#group-form button[value=create]")
    expect(page.locator("#group")).to_have_value("family")
    expect(page.locator("#persons-empty")).to_be_visible()

    # Two people enrolled by upload; a photo of two people and a blank one are refused, each with its reason.
    for name, folder in PEOPLE.items():
        page.fill("#person-name", name)
        page.click("#add-person button[type=submit]")
        expect(page.locator("#person-title")).to_have_text(name)
        photos = sorted((testdata / "people" / folder).iterdir())
        page.set_input_files("#photo-files", [str(p) for p in photos])
        expect(page.locator("#uploads li.added")).to_have_count(len(photos))
        expect(page.locator("#face-count")).to_have_text(str(len(photos)))
    page.set_input_files(
        "#photo-files",
        [
            {
                "name": "two_people.jpg",
                "mimeType": "image/jpeg",
                "buffer": (testdata / "scenes" / "two_people.jpg").read_bytes(),
            },
            {"name": "grey.jpg", "mimeType": "image/jpeg", "buffer": blank_jpeg()},
        ],
    )
    refused = page.locator("#uploads li.refused")
    expect(refused).to_have_count(2)
    expect(refused.filter(has_text="two_people.jpg")).to_contain_text(re.compile(r"There are \d faces in the image"))
    expect(refused.filter(has_text="grey.jpg")).to_contain_text("No face detected in the image.")
    expect(page.locator("#face-count")).to_have_text("1")  # the refused photos added nothing

    page.click("#train")
    expect(page.locator("#training-status")).to_have_attribute("data-status", "succeeded")
    screenshots(page, "people")

    # No camera has sent a frame yet: the Camera page says how to make one send.
    go(page, "camera")
    expect(page.locator("#live-empty")).to_contain_text("No camera has sent a frame lately")
    expect(page.locator("#live-command")).to_contain_text("python -m edge_client")
    screenshots(page, "camera-empty")
    # The dev video from the Camera page: stepped through at 2 frames a second, each frame posted and boxed.
    page.fill("#test-camera", "stage")
    page.set_input_files("#test-file", str(testdata / "video" / "short_hamilton_clip.mp4"))
    expect(page.locator("#stage")).to_have_attribute("data-done", "true", timeout=120_000)
    expect(page.locator("#test-status")).to_contain_text("Done")
    expect(page.locator("#test-names")).to_contain_text("Lin-Manuel Miranda")
    screenshots(page, "camera-video")
    # A stranger at the door, seen by a still camera (the same photo, three frames); then both cameras see
    # nobody: their visits end, and the Unknown visitors can be named.
    for frame in still_camera((testdata / STRANGER).read_bytes()):
        upload_to_camera(page, "door", frame, "Unknown.")
    page.wait_for_timeout(CLOSE_SECONDS * 1000 + 300)
    for camera in ("door", "stage"):
        upload_to_camera(page, camera, blank_jpeg(), "No face found.")
    page.select_option("#camera-id", "stage")
    expect(page.locator("#camera-latest img[src^='blob:']").first).to_be_visible()
    expect(page.locator("#live-names")).to_have_text("No face in this frame.")  # its latest frame: the blank one
    screenshots(page, "camera")

    # The day's visits, each with its snapshot, Lin-Manuel Miranda named among them.
    go(page, "visits")
    visits = page.locator("#visits li.visit")
    expect(visits.filter(has_text="Lin-Manuel Miranda").first).to_be_visible()
    expect(visits.filter(has_text="Camera door")).to_have_count(1)
    page.wait_for_function(
        "[...document.querySelectorAll('#visits img.snapshot')].every(i => i.complete && i.naturalWidth > 0)"
        " && document.querySelectorAll('#visits img.snapshot').length > 0"
    )
    assert visits.filter(has_text="Ended").count() == visits.count()  # all closed by the empty frames
    screenshots(page, "visits")
    # A camera posting while the page is open: its visit comes in without a reload (through the visit events).
    for frame in still_camera((testdata / "people" / "obama" / "1.jpg").read_bytes()):
        post_frame(server, KEY, "family", "hall", frame)
    expect(visits.filter(has_text="Camera hall")).to_contain_text("Barack Obama")
    events = requests.get(f"{server}/api/events", headers={"Ocp-Apim-Subscription-Key": KEY}, timeout=60).json()
    assert "hall" in {event["cameraId"] for event in events["events"]}  # what the page polls

    # A camera that sends the dev video's frames: the Camera page shows its latest frame with the names drawn.
    frames = video_frames(testdata)
    for i in FRONTAL[:10]:
        post_frame(server, KEY, "family", "porch", frames[i])
    go(page, "camera")
    page.select_option("#camera-id", "porch")
    expect(page.locator("#live-names")).to_contain_text("Lin-Manuel Miranda")
    expect(page.locator("#live-caption")).to_contain_text("porch")
    expect(page.locator("#live-canvas")).to_have_attribute("aria-label", re.compile("Lin-Manuel Miranda"))
    screenshots(page, "camera-live")

    # The stranger at the door named: the snapshot becomes a new person's photo and the group trains.
    go(page, "strangers")
    stranger = page.locator("#strangers li.stranger", has_text="at door")
    expect(stranger.locator("img.snapshot").first).to_have_attribute("src", re.compile("^blob:"))
    screenshots(page, "strangers")
    stranger.locator("input[id$='-name']").fill(GUEST)
    stranger.locator("button[type=submit]").click()
    expect(stranger.locator(".stranger-status")).to_have_text(
        f"Named {GUEST} from 1 visit; Trained: recognition now uses every photo added."
    )
    go(page, "visits")
    expect(visits.filter(has_text=GUEST)).to_have_count(1)

    # After a reload, each enrolled photo shows again: fetched from the service with the key, not kept by the page.
    page.reload()
    go(page, "people")
    for name, enrolled in ((GUEST, 1), ("Lin-Manuel Miranda", 1), ("Barack Obama", 2)):  # a snapshot, a PNG, JPEGs
        page.locator("#persons button", has_text=name).click()
        expect(page.locator("#person-title")).to_have_text(name)
        faces = page.locator("#faces img")
        expect(faces).to_have_count(enrolled)
        page.wait_for_function(
            "n => { const images = [...document.querySelectorAll('#faces img')];"
            " return images.length === n && images.every(i => i.src.startsWith('blob:') && i.complete"
            " && i.naturalWidth > 0); }",
            arg=enrolled,
        )
        expect(faces.first).to_have_attribute("alt", f"Photo 1 of {name}")
    screenshots(page, "people-photos")

    # A person deleted, after the dialog says what that deletes.
    go(page, "people")
    page.locator("#persons button", has_text="Lin-Manuel Miranda").click()
    page.click("#delete-person")
    expect(page.locator("#confirm-text")).to_contain_text("deletes the person and their 1 photo")
    screenshots(page, "people-delete")
    page.click("#confirm-dialog button[value=ok]")
    expect(page.locator("#persons button", has_text="Lin-Manuel Miranda")).to_have_count(0)
    expect(page.locator("#persons button")).to_have_count(2)  # Barack Obama and the stranger named
    expect(page.locator("#training-status")).to_contain_text("train the group to forget them")

    assert page.errors == []
