// People: the group's persons, their photos (added by drop, file or phone camera; each refusal with its
// reason), deleting a photo or a person, and training.

import { api, facePhotoPath, groupPath, personPath } from "./api.js";
import { $, acceptDrops, confirmAction, el, errorText, lazyImage, notice } from "./ui.js";
import { changes, loadPersons, state } from "./state.js";
import { trainGroup } from "./training.js";

let chosen = null; // personId shown on the right

export function setUpPeople() {
  $("add-person").addEventListener("submit", addPerson);
  $("delete-person").addEventListener("click", deletePerson);
  $("train").addEventListener("click", () => runTraining());
  for (const input of [$("photo-files"), $("photo-camera")]) {
    input.addEventListener("change", () => {
      addPhotos([...input.files]);
      input.value = "";
    });
  }
  acceptDrops($("drop-photos"), (files) => addPhotos(files.filter((f) => f.type.startsWith("image/"))));
  changes.addEventListener("persons", render);
  changes.addEventListener("group", () => { chosen = null; });
}

export async function showPeople() {
  if (!state.group) return render();
  try {
    await loadPersons();
  } catch (error) {
    notice(`The persons cannot be listed: ${errorText(error)}`);
  }
}

function render() {
  const list = $("persons");
  list.replaceChildren(
    ...state.persons.map((person) =>
      el(
        "li",
        {},
        el(
          "button",
          {
            type: "button",
            class: "person",
            "aria-current": person.personId === chosen ? "true" : null,
            onclick: () => choose(person.personId),
          },
          el("span", { class: "name" }, person.name),
          el("span", { class: "count" }, photos(person.persistedFaceIds.length)),
        ),
      ),
    ),
  );
  $("persons-empty").hidden = state.persons.length > 0 || !state.group;
  const person = state.persons.find((p) => p.personId === chosen);
  $("no-person").hidden = Boolean(person);
  $("person-view").hidden = !person;
  if (person) renderPerson(person);
}

const photos = (count) => (count === 1 ? "1 photo" : `${count} photos`);

function choose(personId) {
  chosen = personId;
  $("uploads").replaceChildren();
  render();
  $("person-title").focus();
}

function renderPerson(person) {
  $("person-title").textContent = person.name;
  $("person-title").tabIndex = -1;
  $("face-count").textContent = person.persistedFaceIds.length;
  $("faces").replaceChildren(
    ...person.persistedFaceIds.map((faceId, index) =>
      el(
        "li",
        {},
        lazyImage(
          facePhotoPath(state.group, person.personId, faceId),
          { alt: `Photo ${index + 1} of ${person.name}`, width: 144, height: 144 },
          (error) => (error.code === "PhotoNotKept" ? `Photo ${index + 1}: not kept` : `Photo ${index + 1} unavailable`),
        ),
        el(
          "button",
          { type: "button", class: "danger small", onclick: () => deleteFace(person, faceId, index + 1) },
          "Delete",
          el("span", { class: "visually-hidden" }, ` photo ${index + 1} of ${person.name}`),
        ),
      ),
    ),
  );
}

async function addPerson(event) {
  event.preventDefault();
  const input = $("person-name");
  if (!state.group) return notice("Create or choose a group first.");
  try {
    const { personId } = await api("POST", `${groupPath(state.group)}/persons`, {
      json: { name: input.value.trim() },
    });
    input.value = "";
    notice("");
    await loadPersons();
    choose(personId);
  } catch (error) {
    notice(`The person cannot be added: ${errorText(error)}`);
  }
}

/** Each photo is sent on its own: one refused photo (no face, several, too small, too blurry) says why and
 * the others still go in. */
async function addPhotos(files) {
  const person = state.persons.find((p) => p.personId === chosen);
  if (!person || files.length === 0) return;
  const uploads = $("uploads");
  for (const file of files) {
    const url = URL.createObjectURL(file);
    const status = el("span", { class: "upload-status" }, "Adding…");
    const row = el("li", { class: "upload" }, el("img", { src: url, alt: "" }), el("span", { class: "file" }, file.name), status);
    uploads.prepend(row);
    try {
      await api("POST", `${personPath(state.group, person.personId)}/persistedfaces`, {
        body: file,
      });
      row.classList.add("added");
      status.textContent = "Added";
    } catch (error) {
      row.classList.add("refused");
      status.textContent = `Refused: ${errorText(error)}`;
    }
  }
  await loadPersons();
  $("training-status").textContent = "Photos changed: train the group to use them.";
}

async function deleteFace(person, faceId, number) {
  const ok = await confirmAction(
    `Delete photo ${number} of ${person.name}?`,
    "Its face is removed from the person. Train the group again for recognition to forget it.",
    "Delete photo",
  );
  if (!ok) return;
  try {
    await api("DELETE", `${personPath(state.group, person.personId)}/persistedfaces/${faceId}`);
    await loadPersons();
  } catch (error) {
    notice(`The photo cannot be deleted: ${errorText(error)}`);
  }
}

async function deletePerson() {
  const person = state.persons.find((p) => p.personId === chosen);
  if (!person) return;
  const ok = await confirmAction(
    `Delete ${person.name}?`,
    `This deletes the person and their ${photos(person.persistedFaceIds.length)} from the group. ` +
      "Visits already recorded keep the name they were given. Train the group again for recognition to forget them.",
    "Delete person",
  );
  if (!ok) return;
  try {
    await api("DELETE", personPath(state.group, person.personId));
    chosen = null;
    await loadPersons();
    $("training-status").textContent = `${person.name} was deleted: train the group to forget them.`;
  } catch (error) {
    notice(`The person cannot be deleted: ${errorText(error)}`);
  }
}

export function runTraining(options) {
  if (!state.group) return notice("Create or choose a group first.");
  $("train").disabled = true;
  return trainGroup($("training-status"), $("training-progress"), options).finally(() => {
    $("train").disabled = false;
  });
}
