// A camera's latest frame, drawn with its faces' boxes and names (listed beside it too): the cameras that sent a
// frame lately (GET /api/cameras, from the service's memory), and the chosen one's latest answer and JPEG, read
// about once a second while the Camera tab is visible. Cameras known only from today's visits can be chosen too:
// their visits show below, with no frame.

import { api } from "./api.js";
import { drawFaces, faceLabel } from "./drawing.js";
import { $, el, poll, timeOf } from "./ui.js";
import { state } from "./state.js";

const FRAME_SECONDS = 1;
const LIST_SECONDS = 5;
let shown = false;
let recent = new Map(); // cameraId → its row of GET /api/cameras
let drawn = ""; // "<camera> <time>" of the frame on the canvas
let drawing = false; // one frame read at a time
let chosen = () => {};

export const chosenCamera = () => $("camera-id").value;

/** `onChosen()`: a camera was chosen (by the person, or because the list changed). */
export function setUpLive(onChosen) {
  chosen = onChosen;
  $("camera-form").addEventListener("submit", (event) => event.preventDefault());
  $("camera-id").addEventListener("change", cameraChanged);
  poll(() => listCameras(), LIST_SECONDS, () => shown);
  poll(showFrame, FRAME_SECONDS, () => shown && recent.has(chosenCamera()));
}

export function showLive(visible) {
  shown = visible;
  if (visible) listCameras().catch(() => {});
}

/** The cameras again (`wanted` chosen when it is among them), and the chosen one's frame. */
export async function listCameras(wanted = "") {
  const rows = await api("GET", "/api/cameras");
  recent = new Map(rows.map((row) => [row.cameraId, row]));
  const known = [...new Set([...recent.keys(), ...[...state.cameras].sort()])];
  const picker = $("camera-id");
  const before = wanted && known.includes(wanted) ? wanted : picker.value;
  const labels = known.length ? known.map((id) => (recent.has(id) ? id : `${id} (no recent frame)`)) : ["No camera yet"];
  if ([...picker.options].map((o) => o.textContent).join("\n") !== labels.join("\n")) {
    // Rebuilt only when it changed: an open list is not closed under the person's finger every few seconds.
    picker.replaceChildren(...labels.map((label, n) => el("option", { value: known[n] || "" }, label)));
  }
  picker.disabled = known.length === 0;
  picker.value = known.includes(before) ? before : known[0] || "";
  $("live-empty").hidden = known.length > 0;
  $("live-command").textContent = edgeCommand();
  if (picker.value !== before || wanted) cameraChanged();
  else await showFrame();
}

function cameraChanged() {
  drawn = "";
  chosen();
  showFrame().catch(() => {});
}

async function showFrame() {
  const camera = chosenCamera();
  const stale = $("live-stale");
  if (!recent.has(camera)) {
    $("live").hidden = true;
    stale.hidden = !camera;
    stale.textContent = `Camera ${camera} has sent no frame lately: its visits of today are below.`;
    return;
  }
  if (drawing) return;
  drawing = true;
  try {
    await drawLatest(camera);
  } catch (error) {
    if (error.code !== "NoRecentFrame") throw error;
    recent.delete(camera); // gone quiet since the list was read
    await showFrame();
  } finally {
    drawing = false;
  }
}

async function drawLatest(camera) {
  const path = `/api/cameras/${encodeURIComponent(camera)}/latest`;
  let answer = await api("GET", path);
  if (drawn === `${camera} ${answer.time}`) return;
  const reply = await api("GET", `${path}.jpg`, { raw: true });
  if (reply.headers.get("X-Frame-Time") !== answer.time) {
    answer = await api("GET", path); // a newer frame came between the two reads: its answer
    if (reply.headers.get("X-Frame-Time") !== answer.time) return; // and another: the next tick reads them
  }
  const picture = await createImageBitmap(await reply.blob());
  if (chosenCamera() !== camera) return picture.close(); // another camera was chosen meanwhile
  const canvas = $("live-canvas");
  canvas.width = answer.frameWidth;
  canvas.height = answer.frameHeight;
  canvas.getContext("2d").drawImage(picture, 0, 0, canvas.width, canvas.height);
  picture.close();
  drawFaces(canvas, answer.faces);
  const names = answer.faces.map(faceLabel);
  $("live-names").replaceChildren(
    ...(names.length ? names.map((name) => el("li", {}, name)) : [el("li", { class: "empty" }, "No face in this frame.")]),
  );
  $("live-caption").textContent = `Camera ${camera} at ${timeOf(answer.time)}, group ${answer.personGroupId}`;
  canvas.setAttribute("aria-label", `Camera ${camera} at ${timeOf(answer.time)}: ${names.join(", ") || "no face"}`);
  $("live-stale").hidden = true;
  $("live").hidden = false;
  drawn = `${camera} ${answer.time}`;
}

function edgeCommand() {
  return [
    `export FACE_ENDPOINT=${location.origin}`,
    `export FACE_GROUP=${state.group || "<group>"} FACE_API_KEY=<the key>`,
    ".venv/bin/python -m edge_client \\",
    "  --headless --source 0 --camera-id door",
  ].join("\n");
}
