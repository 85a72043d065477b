// Training a group, with its progress shown until it succeeds or fails.

import { api, groupPath } from "./api.js";
import { errorText } from "./ui.js";
import { state } from "./state.js";

const MESSAGES = {
  notstarted: "Waiting to start…",
  running: "Training…",
  succeeded: "Trained: recognition now uses every photo added.",
  failed: "Training failed",
};

/** Start training the chosen group (unless `started`: naming a stranger starts it) and show its status in
 * `status` (with `progress` spinning) until it ends; answers the last status. */
export async function trainGroup(status, progress, { started = false } = {}) {
  const path = groupPath(state.group);
  progress.hidden = false;
  try {
    if (!started) await api("POST", `${path}/train`);
    for (;;) {
      const answer = await api("GET", `${path}/training`);
      const message = MESSAGES[answer.status] || answer.status;
      status.textContent = answer.status === "failed" ? `${message}: ${answer.message || "no reason given"}.` : message;
      status.dataset.status = answer.status;
      if (answer.status === "succeeded" || answer.status === "failed") return answer;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } catch (error) {
    status.textContent = `Training could not start: ${errorText(error)}`;
    status.dataset.status = "error";
    return null;
  } finally {
    progress.hidden = true;
  }
}
