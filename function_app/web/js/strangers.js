// Strangers: the day's Unknown visits, grouped by the service's find-similar (GET /api/visits/{id}/similar);
// naming a group (a new person or an existing one) enrolls each of its snapshots, then the group trains.

import { api } from "./api.js";
import { $, allVisits, dayParam, el, errorText, snapshotImage, timeOf, todayValue } from "./ui.js";
import { loadPersons, state } from "./state.js";
import { trainGroup } from "./training.js";

const MAX_SEARCHES = 30; // find-similar calls a refresh makes at most; the rest are shown one by one
let serial = 0; // a refresh started later wins

export function setUpStrangers() {
  $("stranger-day").value = todayValue();
  $("stranger-day").addEventListener("change", showStrangers);
}

export async function showStrangers() {
  const mine = ++serial;
  const status = $("strangers-status");
  status.textContent = "Looking for Unknown visitors…";
  try {
    const visits = (await allVisits(api, { day: dayParam($("stranger-day").value), unknown: "true" })).filter(
      (v) => v.personGroupId === state.group,
    );
    const groups = await groupBySimilarity(visits);
    if (mine !== serial) return;
    render(groups);
    const open = visits.filter((v) => !v.closed).length;
    status.textContent =
      `${visits.length} Unknown visit${visits.length === 1 ? "" : "s"} in ${groups.length} group${groups.length === 1 ? "" : "s"}.` +
      (open ? ` ${open} still in view: a visit can be named once it has ended.` : "");
  } catch (error) {
    if (mine === serial) status.textContent = `The Unknown visitors cannot be listed: ${errorText(error)}`;
  }
}

/** Groups of visits (most seen first): a visit joins the group of any visit find-similar takes for the same
 * person. A visit the service cannot search yet (its face still being added) stays on its own. */
async function groupBySimilarity(visits) {
  const byId = new Map(visits.map((v) => [v.visitId, v]));
  const groupOf = new Map();
  const groups = [];
  let searches = 0;
  for (const visit of visits) {
    if (groupOf.has(visit.visitId)) continue;
    const group = [visit];
    groupOf.set(visit.visitId, group);
    groups.push(group);
    if (!visit.closed || !visit.snapshot || searches++ >= MAX_SEARCHES) continue;
    let similar = [];
    try {
      similar = (await api("GET", `/api/visits/${encodeURIComponent(visit.visitId)}/similar`)).visits;
    } catch {
      continue;
    }
    for (const { visit: other } of similar) {
      if (groupOf.has(other.visitId)) continue;
      const member = byId.get(other.visitId) || other; // a visit of another day joins too
      groupOf.set(other.visitId, group);
      group.push(member);
    }
  }
  return groups.sort((a, b) => b.length - a.length);
}

function render(groups) {
  $("strangers").replaceChildren(...groups.map((group, index) => groupCard(group, index)));
  $("strangers-empty").hidden = groups.length > 0;
}

function groupCard(group, index) {
  const nameable = group.filter((v) => v.closed && v.snapshot);
  const first = group.reduce((a, b) => (a.firstSeen < b.firstSeen ? a : b));
  const last = group.reduce((a, b) => (a.lastSeen > b.lastSeen ? a : b));
  const id = `stranger-${index}`;
  const status = el("p", { class: "stranger-status", role: "status", "aria-live": "polite" });
  const progress = el("progress", { hidden: true, "aria-label": "Training" });
  const newName = el("input", { id: `${id}-name`, maxlength: 128, autocomplete: "off" });
  const existing = el(
    "select",
    { id: `${id}-person` },
    el("option", { value: "" }, "A new person (type the name)"),
    ...state.persons.map((p) => el("option", { value: p.personId }, p.name)),
  );
  const button = el("button", { type: "submit", disabled: nameable.length === 0 }, "Name");
  const form = el(
    "form",
    { class: "name-form", onsubmit: (event) => { event.preventDefault(); nameGroup(nameable, newName, existing, status, progress, button); } },
    el("div", {}, el("label", { for: `${id}-person` }, "Who is this?"), existing),
    el("div", {}, el("label", { for: `${id}-name` }, "New person's name"), newName),
    button,
  );
  existing.addEventListener("change", () => { newName.disabled = Boolean(existing.value); });
  return el(
    "li",
    { class: "stranger", "aria-labelledby": `${id}-title` },
    el("h3", { id: `${id}-title` }, `Unknown visitor ${index + 1}`),
    el("p", {}, `Seen ${group.length} time${group.length === 1 ? "" : "s"}, ${timeOf(first.firstSeen)} to ${timeOf(last.lastSeen)}, `,
      `at ${[...new Set(group.map((v) => v.cameraId))].join(", ")}.`),
    el("ul", { class: "snapshots" }, ...group.slice(0, 6).map((v) => el("li", {}, snapshotImage(v, `Unknown visitor ${index + 1} at ${timeOf(v.firstSeen)}`)))),
    nameable.length ? form : el("p", { class: "hint" }, "Still in view: it can be named once the visit has ended."),
    status,
    progress,
  );
}

/** Each visit's snapshot becomes a face of the person (made by the first, when new); the last asks for
 * training, which is then followed until it ends. */
async function nameGroup(visits, newName, existing, status, progress, button) {
  let personId = existing.value || null;
  const name = newName.value.trim();
  if (!personId && !name) {
    status.textContent = "Type a name, or choose a person.";
    newName.focus();
    return;
  }
  button.disabled = true;
  let named = 0;
  let trainingAsked = false;
  const refused = [];
  for (const [index, visit] of visits.entries()) {
    const train = index === visits.length - 1;
    const body = personId ? { personId, train } : { name, train };
    try {
      const answer = await api("POST", `/api/visits/${encodeURIComponent(visit.visitId)}/person`, { json: body });
      personId = answer.personId;
      named++;
      trainingAsked = train;
    } catch (error) {
      refused.push(errorText(error));
    }
    status.textContent = `Named ${named} of ${visits.length} visits…`;
  }
  if (!named) {
    status.textContent = `Not named: the service refused the snapshot. ${refused.join(" ")}`;
    button.disabled = false;
    return;
  }
  await loadPersons();
  const who = state.persons.find((p) => p.personId === personId)?.name || name;
  const result = await trainGroup(status, progress, { started: trainingAsked });
  const note = refused.length ? ` ${refused.length} visit(s) were not named: ${refused.join(" ")}` : "";
  status.textContent = `Named ${who} from ${named} visit${named === 1 ? "" : "s"}; ${result ? status.textContent : "training did not start."}${note}`;
}
