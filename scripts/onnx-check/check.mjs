// Runs an ONNX model with onnxruntime (CPU) on a raw float32 input and
// writes the raw float32 output: the independent side of amc's ONNX export
// test (onnx.TestExportMatchesOnnxRuntime).
//   node check.mjs MODEL.onnx INPUT.f32 N C H W OUTPUT.f32
import { readFileSync, writeFileSync } from 'node:fs';
import ort from 'onnxruntime-node';

const [model, input, n, c, h, w, output] = process.argv.slice(2);
const dims = [n, c, h, w].map(Number);
const buf = readFileSync(input);
const x = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
if (x.length !== dims.reduce((a, b) => a * b)) {
  throw new Error(`${input}: ${x.length} values for ${dims}`);
}
// Full graph optimisation off: the runtime executes the operators as written.
const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });
const out = await session.run({ input: new ort.Tensor('float32', x, dims) });
const logits = out.logits;
writeFileSync(output, Buffer.from(logits.data.buffer, logits.data.byteOffset, logits.data.byteLength));
console.log(JSON.stringify({ dims: logits.dims, inputs: session.inputNames, outputs: session.outputNames, ort: ort.env.versions }));
