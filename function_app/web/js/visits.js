// Visits: a day's timeline, filtered by person and camera, each visit with its snapshot, name, confidence and
// times. While the page is open and shows today it reads the visit events (GET /api/events, from a cursor)
// every few seconds, and asks for the list again when one concerns the group.

import { api } from "./api.js";
import { $, allVisits, dayParam, el, errorText, percent, poll, snapshotImage, timeOf, todayValue } from "./ui.js";
import { changes, noteCameras, state } from "./state.js";

const POLL_SECONDS = 5;
const UNKNOWN = "unknown";
const EVENTS_PAGE = 1000;
let shown = false;
let cursor = null; // of the visit events read so far
let eventsServed = true; // false: a service without /api/events, whose list is asked for every time

export function setUpVisits() {
  $("visit-day").value = todayValue();
  for (const id of ["visit-day", "visit-person", "visit-camera"]) $(id).addEventListener("change", refresh);
  $("visit-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    refresh();
  });
  changes.addEventListener("persons", fillPersons);
  const live = () => shown && $("visit-live").checked && $("visit-day").value === todayValue();
  poll(async () => (await visitsChanged()) && refresh(), POLL_SECONDS, live);
}

export async function showVisits(visible) {
  shown = visible;
  if (!visible) return;
  await visitsChanged().catch(() => {}); // the cursor first: what happens while the list loads is seen next time
  refresh();
}

/** Whether a visit of the group started, was named or ended since the last look. */
async function visitsChanged() {
  if (!eventsServed) return true;
  let changed = cursor === null;
  try {
    for (let page = 0; page < 10; page++) {
      const answer = await api("GET", "/api/events", { query: { after: cursor, top: EVENTS_PAGE } });
      cursor = answer.next;
      changed ||= answer.events.some((event) => !state.group || event.personGroupId === state.group);
      if (answer.events.length < EVENTS_PAGE) break;
    }
  } catch (error) {
    if (error.status !== 404) throw error;
    eventsServed = false;
    return true;
  }
  return changed;
}

function fillPersons() {
  const select = $("visit-person");
  const kept = select.value;
  select.replaceChildren(
    el("option", { value: "" }, "Everyone"),
    el("option", { value: UNKNOWN }, "Unknown visitors"),
    ...state.persons.map((p) => el("option", { value: p.personId }, p.name)),
  );
  select.value = [...select.options].some((o) => o.value === kept) ? kept : "";
}

function query() {
  const person = $("visit-person").value;
  return {
    day: dayParam($("visit-day").value),
    cameraId: $("visit-camera").value.trim(),
    personId: person && person !== UNKNOWN ? person : "",
    unknown: person === UNKNOWN ? "true" : "",
  };
}

async function refresh() {
  const status = $("visits-status");
  if (!$("visit-day").value) return;
  try {
    const visits = (await allVisits(api, query())).filter((v) => !state.group || v.personGroupId === state.group);
    noteCameras(visits);
    render(visits);
    status.textContent = `${visits.length} visit${visits.length === 1 ? "" : "s"}; updated ${timeOf(new Date().toISOString())}.`;
  } catch (error) {
    status.textContent = `The visits cannot be listed: ${errorText(error)}`;
  }
}

// Newest first; a card already shown is replaced only when its visit changed, so snapshots do not flicker.
function render(visits) {
  const list = $("visits");
  const cards = new Map([...list.children].map((card) => [card.dataset.visitId, card]));
  const ordered = [...visits].sort((a, b) => b.firstSeen.localeCompare(a.firstSeen));
  list.replaceChildren(
    ...ordered.map((visit) => {
      const key = JSON.stringify(visit);
      const card = cards.get(visit.visitId);
      return card && card.dataset.key === key ? card : visitCard(visit, key);
    }),
  );
  $("visits-empty").hidden = visits.length > 0;
}

function visitCard(visit, key) {
  const unknown = visit.personId === null;
  return el(
    "li",
    { class: `visit${unknown ? " unknown" : ""}`, "data-visit-id": visit.visitId, "data-key": key },
    snapshotImage(visit, `Snapshot of ${visit.name}`),
    el(
      "div",
      { class: "visit-text" },
      el("h3", {}, visit.name),
      el("p", { class: "times" }, el("time", { datetime: visit.firstSeen }, timeOf(visit.firstSeen)), " – ",
        el("time", { datetime: visit.lastSeen }, timeOf(visit.lastSeen))),
      el("p", {}, `Camera ${visit.cameraId}`, visit.location && visit.location !== visit.cameraId ? ` (${visit.location})` : ""),
      el("p", {}, unknown ? "Not recognised" : `Confidence ${percent(visit.confidence)}`, ` · ${visit.frames} frames`),
      el("p", { class: `badge ${visit.closed ? "closed" : "open"}` }, visit.closed ? "Ended" : "In view"),
    ),
  );
}
