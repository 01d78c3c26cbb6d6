// The JSON tensor format shared by score.mjs (Node.js) and the page it runs in Chromium (ONNX Runtime Web).
// It imports nothing, so the same file is served to the browser as it is.
//
//   { "name": { "type": "float32", "dims": [2, 3], "data": [1, 2, 3, 4, 5, 6] }, ... }
//
// data is flat, row-major. int64/uint64 are JSON numbers (a value beyond 2^53 is written as a decimal string,
// and read back from one). bool is 0/1 (true/false accepted on input). float32/float64 values that JSON cannot
// hold are the strings "NaN", "Infinity" and "-Infinity" (read back from the same strings).

const TYPED = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
};

function checkSpec(name, spec) {
  if (spec === null || typeof spec !== 'object') throw new Error(`input "${name}": expected an object {type, dims, data}`);
  if (typeof spec.type !== 'string') throw new Error(`input "${name}": "type" is missing`);
  if (!Array.isArray(spec.dims) || !spec.dims.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new Error(`input "${name}": "dims" must be an array of non-negative integers`);
  }
  if (!Array.isArray(spec.data)) throw new Error(`input "${name}": "data" must be an array`);
  const size = spec.dims.reduce((a, b) => a * b, 1);
  if (size !== spec.data.length) {
    throw new Error(`input "${name}": dims [${spec.dims}] hold ${size} values, data has ${spec.data.length}`);
  }
}

function toFloat(v) {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (v === null) return NaN;
  throw new Error(`not a number: ${JSON.stringify(v)}`);
}

function fromFloat(v) {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

function fromBig(v) {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v.toString();
}

/** Builds an ort.Tensor from one JSON tensor. `ort` is onnxruntime-node or onnxruntime-web. */
export function toTensor(ort, name, spec) {
  checkSpec(name, spec);
  const { type, dims, data } = spec;
  try {
    switch (type) {
      case 'float32':
      case 'float64':
        return new ort.Tensor(type, TYPED[type].from(data, toFloat), dims);
      case 'int8':
      case 'uint8':
      case 'int16':
      case 'uint16':
      case 'int32':
      case 'uint32':
        return new ort.Tensor(type, TYPED[type].from(data, Number), dims);
      case 'int64':
        return new ort.Tensor(type, BigInt64Array.from(data, (v) => BigInt(v)), dims);
      case 'uint64':
        return new ort.Tensor(type, BigUint64Array.from(data, (v) => BigInt(v)), dims);
      case 'bool':
        return new ort.Tensor(type, Uint8Array.from(data, (v) => (v ? 1 : 0)), dims);
      case 'string':
        return new ort.Tensor(type, data.map(String), dims);
      default:
        throw new Error(`unsupported type "${type}"`);
    }
  } catch (e) {
    throw new Error(`input "${name}": ${e.message}`);
  }
}

/** Converts an ort.Tensor back to the JSON format. */
export function fromTensor(tensor) {
  const type = tensor.type;
  const dims = Array.from(tensor.dims, Number);
  const raw = tensor.data;
  let data;
  switch (type) {
    case 'float32':
    case 'float64':
      data = Array.from(raw, fromFloat);
      break;
    case 'int64':
    case 'uint64':
      data = Array.from(raw, fromBig);
      break;
    case 'bool':
      data = Array.from(raw, (v) => (v ? 1 : 0));
      break;
    case 'string':
      data = Array.from(raw);
      break;
    case 'float16':
      // Float16Array where the runtime has it, otherwise the raw bits (Uint16Array).
      data = Array.from(raw, (v) => (typeof v === 'number' ? v : Number(v)));
      break;
    default:
      data = Array.from(raw, Number);
  }
  return { type, dims, data };
}

/** Feeds for session.run from the parsed inputs.json. */
export function toFeeds(ort, inputs) {
  if (inputs === null || typeof inputs !== 'object' || Array.isArray(inputs)) {
    throw new Error('inputs must be a JSON object {name: {type, dims, data}}');
  }
  const feeds = {};
  for (const [name, spec] of Object.entries(inputs)) feeds[name] = toTensor(ort, name, spec);
  return feeds;
}

/** Runs the session on the feeds and returns every graph output in the JSON format, in the graph's output order. */
export async function runSession(ort, session, inputs) {
  const missing = session.inputNames.filter((n) => !(n in inputs));
  if (missing.length) throw new Error(`inputs.json lacks graph input(s): ${missing.join(', ')}`);
  const unknown = Object.keys(inputs).filter((n) => !session.inputNames.includes(n));
  if (unknown.length) throw new Error(`inputs.json names input(s) the graph does not have: ${unknown.join(', ')}`);
  const feeds = toFeeds(ort, inputs);
  const results = await session.run(feeds, session.outputNames);
  const out = {};
  for (const name of session.outputNames) out[name] = fromTensor(results[name]);
  return out;
}
