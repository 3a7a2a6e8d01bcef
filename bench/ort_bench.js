// Times ONNX Runtime (onnxruntime-node, CPU) on one model, the reference side of
// bench/cpu_compare.py. Prints one JSON object like `cinfer bench --json`.
// usage: node ort_bench.js MODEL --threads N --duration S --warmup N --batch B
//            NAME:DTYPE:D0xD1x... [...]      (DTYPE float32|int64; ranges as cinfer's CLI)
const ort = require('onnxruntime-node');

function parseArgs(argv) {
  const a = {threads: 2, duration: 5, warmup: 5, batch: 1, inputs: []};
  a.model = argv[0];
  for (let i = 1; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--threads') a.threads = +argv[++i];
    else if (k === '--duration') a.duration = +argv[++i];
    else if (k === '--warmup') a.warmup = +argv[++i];
    else if (k === '--batch') a.batch = +argv[++i];
    else {
      const [name, dtype, shape] = k.split(':');
      a.inputs.push({name, dtype, dims: shape ? shape.split('x').map(Number) : []});
    }
  }
  return a;
}

// Seeded LCG so both engines see the same kind of data (not the same bytes).
let seed = 12345;
function rnd() { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x80000000; }

function makeTensor(inp) {
  const n = inp.dims.reduce((x, y) => x * y, 1);
  if (inp.dtype === 'int64') {
    const d = new BigInt64Array(n);
    for (let i = 0; i < n; i++) d[i] = BigInt(Math.floor(rnd() * 100));
    return new ort.Tensor('int64', d, inp.dims);
  }
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = rnd() * 2 - 1;
  return new ort.Tensor('float32', d, inp.dims);
}

function pct(sorted, p) {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1));
  return sorted[i];
}

(async () => {
  const a = parseArgs(process.argv.slice(2));
  const s = await ort.InferenceSession.create(a.model, {
    intraOpNumThreads: a.threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all'});
  const feeds = {};
  for (const inp of a.inputs) feeds[inp.name] = makeTensor(inp);
  for (let i = 0; i < a.warmup; i++) await s.run(feeds);
  const lat = [];
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(a.duration * 1e9));
  for (;;) {
    const t = process.hrtime.bigint();
    if (t >= end && lat.length >= 3) break;
    await s.run(feeds);
    lat.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const total = Number(process.hrtime.bigint() - t0) / 1e9;
  lat.sort((x, y) => x - y);
  console.log(JSON.stringify({
    engine: 'onnxruntime-node 1.30.0', model: a.model, device: 'cpu', batch: a.batch,
    threads: a.threads, iterations: lat.length,
    throughput_per_s: lat.length * a.batch / total,
    latency_ms: {min: lat[0], p50: pct(lat, 50), p90: pct(lat, 90), p99: pct(lat, 99),
                 max: lat[lat.length - 1]}}));
})().catch(e => { console.error('ort_bench: ' + e.message); process.exit(1); });
