// A camera: its latest frame (live.js), its visits of today with their snapshots (the service keeps no video), and
// a test upload: a photo, or a video stepped through at a few frames a second, each frame posted to /api/frames as
// a test camera's and drawn with its faces' boxes and names.

import { api } from "./api.js";
import { drawFaces } from "./drawing.js";
import { chosenCamera, listCameras, setUpLive, showLive } from "./live.js";
import {
  $,
  acceptDrops,
  allVisits,
  dayParam,
  el,
  errorText,
  notice,
  percent,
  poll,
  snapshotImage,
  timeOf,
  todayValue,
} from "./ui.js";
import { noteCameras, state } from "./state.js";

const POLL_SECONDS = 5;
const LATEST = 12;
const MAX_SIDE = 1280; // frames are posted at most this wide or high: enough for faces, light on the wire
let shown = false;
let stopped = false;

export function setUpCamera() {
  setUpLive(() => {
    $("camera-latest").replaceChildren(); // another camera's visits
    showLatest();
  });
  $("test-file").addEventListener("change", () => {
    const [file] = $("test-file").files;
    $("test-file").value = "";
    if (file) testUpload(file);
  });
  acceptDrops($("drop-test"), ([file]) => file && testUpload(file));
  $("test-stop").addEventListener("click", () => { stopped = true; });
  poll(showLatest, POLL_SECONDS, () => shown && Boolean(chosenCamera()));
}

export function showCamera(visible) {
  shown = visible;
  showLive(visible);
  if (visible) showLatest();
}

async function showLatest() {
  const camera = chosenCamera();
  const empty = $("camera-empty");
  empty.textContent = camera ? "This camera has no visits today." : "Choose a camera to see its visits.";
  empty.hidden = Boolean(camera);
  if (!camera) return;
  try {
    const visits = await allVisits(api, { day: dayParam(todayValue()), cameraId: camera }, 2);
    noteCameras(visits);
    const latest = visits.sort((a, b) => b.lastSeen.localeCompare(a.lastSeen)).slice(0, LATEST);
    $("camera-latest").replaceChildren(
      ...latest.map((v) =>
        el("li", {}, snapshotImage(v, `${v.name} at ${timeOf(v.lastSeen)}`), el("span", {}, `${v.name}, ${timeOf(v.lastSeen)}`)),
      ),
    );
    $("camera-empty").hidden = latest.length > 0;
  } catch (error) {
    notice(`The camera's visits cannot be listed: ${errorText(error)}`);
  }
}

async function testUpload(file) {
  const status = $("test-status");
  if (!state.group) return notice("Create or choose a group first: faces are named from its persons.");
  if (!$("test-camera").checkValidity()) return (status.textContent = "The test camera id may hold letters, digits, '.', '-' and '_'.");
  stopped = false;
  status.textContent = "Sending…";
  $("stage").hidden = false;
  $("test-names").replaceChildren();
  const seen = new Map();
  try {
    if (file.type.startsWith("video/")) await testVideo(file, seen);
    else if (file.type.startsWith("image/")) await testPhoto(file, seen);
    else status.textContent = "Choose a photo (JPEG, PNG) or a video (MP4, WebM).";
  } catch (error) {
    status.textContent = `The test stopped: ${errorText(error)}`;
  } finally {
    $("test-stop").hidden = true;
  }
  listCameras($("test-camera").value.trim()).catch(() => {}); // the test camera's frames show as a camera's
}

async function testPhoto(file, seen) {
  let picture;
  try {
    picture = await createImageBitmap(file);
  } catch {
    $("test-status").textContent = "This file cannot be read as a picture.";
    return;
  }
  $("test-video").hidden = true;
  const canvas = frameCanvas(picture.width, picture.height);
  canvas.getContext("2d").drawImage(picture, 0, 0, canvas.width, canvas.height);
  // A photo small enough goes as it is (no second JPEG loss); a bigger one as the canvas scaled it.
  const unscaled = canvas.width === picture.width && canvas.height === picture.height;
  const answer = await postFrame(canvas, seen, unscaled ? file : null);
  $("test-status").textContent = describe(answer);
}

async function testVideo(file, seen) {
  const video = $("test-video");
  const status = $("test-status");
  video.hidden = true; // it decodes; the canvas shows each posted frame with its boxes
  video.src = URL.createObjectURL(file);
  try {
    await once(video, "loadeddata", "This video cannot be played by this browser.");
  } catch (error) {
    status.textContent = errorText(error);
    return;
  }
  const step = 1 / Math.min(10, Math.max(0.5, Number($("test-fps").value) || 2));
  const count = Math.floor(video.duration / step) + 1;
  const canvas = frameCanvas(video.videoWidth, video.videoHeight);
  $("test-stop").hidden = false;
  for (let index = 0; index < count && !stopped; index++) {
    video.currentTime = Math.min(index * step, video.duration);
    await once(video, "seeked", "The video could not be read to the end.");
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    const answer = await postFrame(canvas, seen);
    status.textContent = `Frame ${index + 1} of ${count} (${video.currentTime.toFixed(1)} s): ${describe(answer)}`;
  }
  status.textContent = `${stopped ? "Stopped" : "Done"}: ${seenSummary(seen)}`;
  $("stage").dataset.done = "true";
}

function once(target, event, failure) {
  return new Promise((resolve, reject) => {
    const fail = () => reject(new Error(failure));
    target.addEventListener(event, () => { target.removeEventListener("error", fail); resolve(); }, { once: true });
    target.addEventListener("error", fail, { once: true });
  });
}

function frameCanvas(width, height) {
  const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
  const canvas = $("test-canvas");
  canvas.width = Math.round(width * scale);
  canvas.height = Math.round(height * scale);
  return canvas;
}

async function postFrame(canvas, seen, original = null) {
  const blob = original || (await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9)));
  const answer = await api("POST", "/api/frames", {
    query: { personGroupId: state.group, cameraId: $("test-camera").value.trim() },
    body: blob,
  });
  drawFaces(canvas, answer.faces);
  for (const face of answer.faces) {
    const best = seen.get(face.name) || { frames: 0, confidence: 0 };
    seen.set(face.name, { frames: best.frames + 1, confidence: Math.max(best.confidence, face.confidence) });
  }
  $("test-names").replaceChildren(
    ...[...seen].map(([name, { frames, confidence }]) =>
      el("li", {}, `${name}: ${frames} frame${frames === 1 ? "" : "s"}`, name === "Unknown" ? "" : `, up to ${percent(confidence)}`),
    ),
  );
  return answer;
}

function describe(answer) {
  if (!answer.faces.length) return "No face found.";
  return answer.faces.map((f) => (f.name === "Unknown" ? "Unknown" : `${f.name} (${percent(f.confidence)})`)).join(", ") + ".";
}

function seenSummary(seen) {
  return seen.size ? [...seen.keys()].join(", ") : "no face found in the video.";
}
