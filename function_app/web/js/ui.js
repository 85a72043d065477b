// Small DOM helpers shared by the pages: elements, messages, the confirm dialog, times and days.

import { freshImageUrl, imageUrl } from "./api.js";

export const $ = (id) => document.getElementById(id);

/** `el("li", {class: "x", onclick}, "text", child)`: an element with attributes, listeners and children. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** A message for the whole page (an error a person can act on); cleared with `notice("")`. */
export function notice(message) {
  const box = $("notice");
  box.textContent = message;
  box.hidden = !message;
}

export function errorText(error) {
  return error && error.message ? error.message : String(error);
}

/** Ask before something that cannot be undone; answers true to go ahead. */
export function confirmAction(title, text, action) {
  const dialog = $("confirm-dialog");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = action;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

/** Today as the date input's value (UTC: the service files visits by UTC day). */
export function todayValue() {
  return new Date().toISOString().slice(0, 10);
}

/** "2026-11-26" → "20261126", as `day` is given to /api/visits. */
export const dayParam = (value) => value.replaceAll("-", "");

export function timeOf(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
}

export function percent(confidence) {
  return `${Math.round(confidence * 100)}%`;
}

/** An <img> of a visit's snapshot, loaded with the key; a visit without one shows a placeholder. */
export function snapshotImage(visit, alt) {
  if (!visit.snapshot) return el("div", { class: "no-snapshot" }, "No snapshot");
  const image = el("img", { alt, class: "snapshot", width: 160, height: 160 });
  loadInto(image, imageUrl(`/api/visits/${encodeURIComponent(visit.visitId)}/snapshot`), () => "Snapshot unavailable");
  return image;
}

/** An <img> of an image the API serves, fetched with the key once it comes near the screen (a person may have
 * many photos, each as large as it was uploaded); `unavailable(error)` is the placeholder's text when it cannot
 * be had. Its blob: URL is let go once drawn, so only the pictures on the page hold memory (the browser's cache,
 * which the service allows for an hour, answers the next time). */
export function lazyImage(path, attributes, unavailable) {
  const image = el("img", attributes);
  image.dataset.path = path;
  image.loadFailed = unavailable;
  nearScreen.observe(image);
  return image;
}

const nearScreen = new IntersectionObserver(
  (entries) => {
    for (const { target, isIntersecting } of entries) {
      if (isIntersecting || !target.isConnected) nearScreen.unobserve(target);
      if (!isIntersecting) continue;
      const revoke = () => URL.revokeObjectURL(target.src);
      target.addEventListener("load", revoke, { once: true });
      target.addEventListener("error", revoke, { once: true });
      loadInto(target, freshImageUrl(target.dataset.path), target.loadFailed);
    }
  },
  { rootMargin: "200px" },
);

function loadInto(image, loading, unavailable) {
  loading
    .then((url) => { image.src = url; })
    .catch((error) => image.replaceWith(el("div", { class: "no-snapshot" }, unavailable(error))));
}

/** Every page of a paged /api/visits query, up to `maxPages`. */
export async function allVisits(api, query, maxPages = 5) {
  const visits = [];
  let token = null;
  for (let page = 0; page < maxPages; page++) {
    const answer = await api("GET", "/api/visits", { query: { ...query, top: 200, continuationToken: token } });
    visits.push(...answer.visits);
    token = answer.continuationToken;
    if (!token) break;
  }
  return visits;
}

/** Run `tick` now and then every `seconds` while the page is visible and `active()` holds. */
export function poll(tick, seconds, active) {
  let timer = null;
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      if (document.visibilityState === "visible" && active()) await tick().catch(() => {});
      schedule();
    }, seconds * 1000);
  };
  schedule();
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && active()) tick().catch(() => {});
  });
}

/** Files dropped on `zone` go to `take(files)`; the zone shows when something is dragged over it. */
export function acceptDrops(zone, take) {
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    take([...event.dataTransfer.files]);
  });
}
