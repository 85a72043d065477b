// Runs a TF.js graph model with TensorFlow.js itself (pure JavaScript, CPU backend): the reference that the
// ONNX conversion is checked against.
//
//   node tfjs_reference.js <model.json> <input.f32> <batch,height,width,channels> <output name> <result.f32>
//
// The input and the result are raw little-endian float32 arrays; the result is the named output tensor.
"use strict";
const fs = require("fs");
const path = require("path");
const tf = require("@tensorflow/tfjs");

async function main() {
  const [modelJson, inputFile, shapeText, outputName, resultFile] = process.argv.slice(2);
  const document = JSON.parse(fs.readFileSync(modelJson, "utf8"));
  const folder = path.dirname(modelJson);
  const weightSpecs = [];
  const buffers = [];
  for (const group of document.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const shard of group.paths) buffers.push(fs.readFileSync(path.join(folder, shard)));
  }
  const joined = Buffer.concat(buffers);
  const weightData = joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength);
  await tf.setBackend("cpu");
  const model = await tf.loadGraphModel(
    tf.io.fromMemory({ modelTopology: document.modelTopology, weightSpecs, weightData, format: document.format })
  );
  const raw = fs.readFileSync(inputFile);
  const values = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const input = tf.tensor(values, shapeText.split(",").map(Number));
  const result = model.execute(input, outputName);
  const data = await result.data();
  fs.writeFileSync(resultFile, Buffer.from(new Float32Array(data).buffer));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
