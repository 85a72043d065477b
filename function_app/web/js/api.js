// Calls to the service, with the key kept in this browser and sent as the Face API's key header.
// A 401 asks for the key again and retries; other errors carry the Face API envelope's code and message.

const KEY_STORAGE = "faceApiKey";
export const FACE = "/face/v1.0";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let askForKey = async () => { throw new ApiError(401, "401", "No API key."); };
let pendingPrompt = null;

export function onKeyNeeded(prompt) {
  askForKey = prompt;
}

export function savedKey() {
  return localStorage.getItem(KEY_STORAGE) || "";
}

export function saveKey(key) {
  localStorage.setItem(KEY_STORAGE, key);
}

// One prompt at a time: requests refused together wait for the same answer.
function promptKey(reason) {
  if (!pendingPrompt) {
    pendingPrompt = askForKey(reason).finally(() => { pendingPrompt = null; });
  }
  return pendingPrompt;
}

/** `api("GET", "/api/visits", {query: {day}})`; `json` or `body` (with `type`) as the request body.
 * Answers the parsed JSON (null when empty), or the Response itself with `raw: true`. */
export async function api(method, path, { query, json, body, type, raw } = {}) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  let reason = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    const key = savedKey() || await promptKey(reason);
    const headers = { "Ocp-Apim-Subscription-Key": key };
    let payload = body;
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(json);
    } else if (body !== undefined) {
      headers["Content-Type"] = type || "application/octet-stream";
    }
    let reply;
    try {
      reply = await fetch(url, { method, headers, body: payload });
    } catch {
      throw new ApiError(0, "Unreachable", "The service cannot be reached: check that it is running and try again.");
    }
    if (reply.status === 401) {
      reason = (await errorOf(reply)).message;
      localStorage.removeItem(KEY_STORAGE);
      continue;
    }
    if (!reply.ok) throw await errorOf(reply);
    if (raw) return reply;
    const text = await reply.text();
    return text ? JSON.parse(text) : null;
  }
  throw new ApiError(401, "401", reason || "The API key was refused.");
}

async function errorOf(reply) {
  try {
    const { error } = await reply.json();
    return new ApiError(reply.status, error.code, error.message);
  } catch {
    return new ApiError(reply.status, String(reply.status), `The service answered ${reply.status} ${reply.statusText}.`);
  }
}

/** An image the API serves (it needs the key header, which an <img src> cannot send) as a new blob: URL, which
 * the caller revokes. */
export async function freshImageUrl(path) {
  const reply = await api("GET", path, { raw: true });
  return URL.createObjectURL(await reply.blob());
}

/** The same, kept for the page's life: for small images shown again and again (snapshots). */
const imageUrls = new Map();
export async function imageUrl(path) {
  if (!imageUrls.has(path)) {
    const loading = freshImageUrl(path);
    loading.catch(() => imageUrls.delete(path));
    imageUrls.set(path, loading);
  }
  return imageUrls.get(path);
}

export const groupPath = (group) => `${FACE}/persongroups/${encodeURIComponent(group)}`;
export const personPath = (group, person) => `${groupPath(group)}/persons/${encodeURIComponent(person)}`;
/** A persisted face's photo as it was added (a route of this service: the Face API keeps no photo). */
export const facePhotoPath = (group, person, face) =>
  `/api/persongroups/${encodeURIComponent(group)}/persons/${encodeURIComponent(person)}` +
  `/persistedfaces/${encodeURIComponent(face)}/photo`;
