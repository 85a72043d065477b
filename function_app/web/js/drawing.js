// A frame's faces drawn over it: a box each (named green, Unknown amber) and its name with the confidence.
// Used by the test upload and by a camera's latest frame.

import { percent } from "./ui.js";

/** Boxes in the frame's own pixels: the canvas is the frame at its size, scaled only by CSS. */
export function drawFaces(canvas, faces) {
  const context = canvas.getContext("2d");
  const line = Math.max(2, Math.round(canvas.width / 320));
  // Scaled with the frame, and still legible on a phone, where a 640 px frame shows about 300 px wide.
  context.font = `${Math.max(16, Math.round(canvas.width / 32))}px system-ui, sans-serif`;
  context.textBaseline = "bottom";
  for (const face of faces) {
    const { left, top, width, height } = face.faceRectangle;
    const known = face.name !== "Unknown";
    context.lineWidth = line;
    context.strokeStyle = known ? "#00c853" : "#ffab00";
    context.strokeRect(left, top, width, height);
    const label = faceLabel(face);
    const textWidth = context.measureText(label).width + 8;
    const textHeight = parseInt(context.font, 10) + 6;
    const y = top - textHeight >= 0 ? top : top + height + textHeight;
    context.fillStyle = "#000000cc";
    context.fillRect(left - line / 2, y - textHeight, textWidth, textHeight);
    context.fillStyle = "#ffffff";
    context.fillText(label, left + 4, y - 3);
  }
}

/** "Lin-Manuel Miranda 97%", or "Unknown". */
export function faceLabel(face) {
  return face.name === "Unknown" ? face.name : `${face.name} ${percent(face.confidence)}`;
}
