// The page's frame: the key prompt, the group picker and the four pages, chosen by the address's #hash.

import { FACE, api, groupPath, onKeyNeeded, saveKey, savedKey } from "./api.js";
import { $, el, errorText, notice } from "./ui.js";
import { changes, chooseGroup, loadPersons, state } from "./state.js";
import { setUpPeople, showPeople } from "./people.js";
import { setUpVisits, showVisits } from "./visits.js";
import { setUpStrangers, showStrangers } from "./strangers.js";
import { setUpCamera, showCamera } from "./camera.js";

const PAGES = ["people", "visits", "strangers", "camera"];

onKeyNeeded((reason) => {
  const dialog = $("key-dialog");
  $("key-reason").textContent = reason
    ? `${reason} Enter the key again.`
    : "This page uses the service's API key. It is kept in this browser only.";
  $("key-input").value = "";
  if (!dialog.open) dialog.showModal();
  return new Promise((resolve) => {
    $("key-form").addEventListener(
      "submit",
      () => {
        saveKey($("key-input").value.trim());
        resolve(savedKey());
      },
      { once: true },
    );
  });
});

// The key prompt cannot be dismissed without a key: every page needs one.
$("key-dialog").addEventListener("cancel", (event) => event.preventDefault());

$("change-key").addEventListener("click", async () => {
  localStorage.removeItem("faceApiKey");
  await start();
});

$("group").addEventListener("change", () => {
  chooseGroup($("group").value);
  show();
});

$("new-group").addEventListener("click", () => {
  $("group-error").textContent = "";
  $("group-form").reset();
  $("group-dialog").showModal();
});

$("group-form").addEventListener("submit", async (event) => {
  if (event.submitter?.value !== "create") return;
  event.preventDefault(); // stay open until the service says yes
  const id = $("group-id").value.trim();
  try {
    await api("PUT", groupPath(id), { json: { name: $("group-name").value.trim() } });
    $("group-dialog").close();
    await loadGroups(id);
    show();
  } catch (error) {
    $("group-error").textContent = errorText(error);
  }
});

changes.addEventListener("cameras", () => {
  $("camera-names").replaceChildren(...[...state.cameras].sort().map((c) => el("option", { value: c })));
});

async function loadGroups(wanted) {
  const groups = await api("GET", `${FACE}/persongroups`);
  const select = $("group");
  select.replaceChildren(...groups.map((g) => el("option", { value: g.personGroupId }, g.name || g.personGroupId)));
  const chosen = groups.some((g) => g.personGroupId === wanted) ? wanted : groups[0]?.personGroupId || "";
  select.disabled = groups.length === 0;
  if (!groups.length) select.append(el("option", { value: "" }, "No group yet"));
  select.value = chosen;
  chooseGroup(chosen);
  if (!chosen) notice("There is no person group yet: create one with “New group”, then add people to it.");
  else notice("");
}

function currentPage() {
  const page = location.hash.slice(1);
  return PAGES.includes(page) ? page : "people";
}

function show() {
  const page = currentPage();
  for (const name of PAGES) {
    $(`page-${name}`).hidden = name !== page;
    document.querySelector(`nav a[data-page="${name}"]`).setAttribute("aria-current", name === page ? "page" : "false");
  }
  document.title = `${page[0].toUpperCase()}${page.slice(1)} · Faces`;
  showVisits(page === "visits");
  showCamera(page === "camera");
  if (page === "people") showPeople();
  if (page === "strangers") showStrangers();
}

async function start() {
  try {
    await loadGroups(state.group);
    if (state.group) await loadPersons();
  } catch (error) {
    notice(`The service cannot be used: ${errorText(error)}`);
  }
  show();
}

setUpPeople();
setUpVisits();
setUpStrangers();
setUpCamera();
window.addEventListener("hashchange", () => {
  show();
  $("main").focus();
});
start();
