// What the pages share: the chosen person group, its persons, the cameras seen.

import { api, groupPath } from "./api.js";

const GROUP_STORAGE = "facePersonGroup";

export const state = {
  group: localStorage.getItem(GROUP_STORAGE) || "",
  persons: [],
  cameras: new Set(),
};

export const changes = new EventTarget();

export function chooseGroup(group) {
  state.group = group;
  localStorage.setItem(GROUP_STORAGE, group);
  changes.dispatchEvent(new Event("group"));
}

export async function loadPersons() {
  state.persons = state.group ? await api("GET", `${groupPath(state.group)}/persons`) : [];
  state.persons.sort((a, b) => a.name.localeCompare(b.name));
  changes.dispatchEvent(new Event("persons"));
  return state.persons;
}

export function noteCameras(visits) {
  const before = state.cameras.size;
  for (const visit of visits) state.cameras.add(visit.cameraId);
  if (state.cameras.size !== before) changes.dispatchEvent(new Event("cameras"));
}
