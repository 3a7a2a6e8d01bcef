// Runs one ONNX model through ONNX Runtime (onnxruntime-node) to make end-to-end reference outputs.
//
// Usage: node ort_ref.js [--node-modules DIR] [--threads N] [--opt-level L] MODEL OUTDIR
//                        NAME=FILE.npy...
//
// onnxruntime-node is found through --node-modules DIR, the ORT_NODE_MODULES environment variable
// or NODE_PATH (install it with `npm install --ignore-scripts onnxruntime-node@1.30.0`).
// Each output is written as OUTDIR/<name>.npy (characters outside [A-Za-z0-9._-] become '_';
// _<index> is appended to a name that then collides with an earlier output's, as `cinfer run -o`
// does), and OUTDIR/outputs.json lists {name, file, dtype, shape} in the model's output order.
'use strict';

const fs = require('fs');
const path = require('path');

// ---- .npy reading and writing (format 1.0-3.0, little-endian, C order) ----

// numpy descr (without byte-order char) -> [ORT tensor type, TypedArray, bytes per element]
const NPY_TYPES = {
    f4: ['float32', Float32Array, 4],
    f8: ['float64', Float64Array, 8],
    f2: ['float16', Uint16Array, 2], // raw half bits; ORT accepts Uint16Array for float16
    i8: ['int64', BigInt64Array, 8],
    u8: ['uint64', BigUint64Array, 8],
    i4: ['int32', Int32Array, 4],
    u4: ['uint32', Uint32Array, 4],
    i2: ['int16', Int16Array, 2],
    u2: ['uint16', Uint16Array, 2],
    i1: ['int8', Int8Array, 1],
    u1: ['uint8', Uint8Array, 1],
    b1: ['bool', Uint8Array, 1],
};

function npyDescrForOrtType(type) {
    for (const [code, info] of Object.entries(NPY_TYPES)) {
        if (info[0] === type) {
            return (info[2] === 1 ? '|' : '<') + code;
        }
    }
    throw new Error(`output dtype '${type}' cannot be written as .npy`);
}

function readNpy(file) {
    const buf = fs.readFileSync(file);
    if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') {
        throw new Error(`${file}: not a .npy file (bad magic)`);
    }
    const major = buf[6];
    let hlen;
    let hstart;
    if (major === 1) {
        hlen = buf.readUInt16LE(8);
        hstart = 10;
    } else if (major === 2 || major === 3) {
        hlen = buf.readUInt32LE(8);
        hstart = 12;
    } else {
        throw new Error(`${file}: unsupported .npy version ${major}`);
    }
    const header = buf.toString('latin1', hstart, hstart + hlen);
    const descr = /'descr'\s*:\s*'([^']*)'/.exec(header);
    const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
    const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
    if (!descr || !fortran || !shape) {
        throw new Error(`${file}: malformed .npy header ${header}`);
    }
    if (fortran[1] === 'True') {
        throw new Error(`${file}: Fortran-order arrays are not supported`);
    }
    const order = descr[1][0];
    const info = NPY_TYPES[descr[1].slice(1)];
    if (!info || order === '>') {
        throw new Error(`${file}: unsupported dtype '${descr[1]}'`);
    }
    const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length > 0)
        .map((s) => parseInt(s, 10));
    const count = dims.reduce((a, b) => a * b, 1);
    const start = hstart + hlen;
    if (buf.length - start < count * info[2]) {
        throw new Error(`${file}: truncated data (${count} elements of ${info[2]} bytes expected)`);
    }
    // Copy into a fresh, aligned ArrayBuffer: the file buffer's offset may not be aligned.
    const bytes = new Uint8Array(count * info[2]);
    bytes.set(buf.subarray(start, start + count * info[2]));
    return { type: info[0], data: new info[1](bytes.buffer), dims };
}

function writeNpy(file, type, data, dims) {
    const descr = npyDescrForOrtType(type);
    const shapeStr = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
    let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
    // Pad with spaces so that magic + version + length + header + '\n' is a multiple of 64.
    const pad = 64 - ((10 + header.length + 1) % 64);
    header += ' '.repeat(pad % 64) + '\n';
    const pre = Buffer.alloc(10);
    pre.write('\x93NUMPY', 0, 'latin1');
    pre[6] = 1;
    pre[7] = 0;
    pre.writeUInt16LE(header.length, 8);
    let raw;
    if (type === 'bool' && !(data instanceof Uint8Array)) {
        raw = Buffer.from(Uint8Array.from(data, (v) => (v ? 1 : 0)).buffer);
    } else {
        raw = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    }
    fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), raw]));
}

// ---- command line ----

function usage(msg) {
    if (msg) {
        process.stderr.write(`ort_ref: ${msg}\n`);
    }
    process.stderr.write('usage: node ort_ref.js [--node-modules DIR] [--threads N] ' +
        '[--opt-level disabled|basic|extended|all] MODEL OUTDIR NAME=FILE.npy...\n');
    process.exit(2);
}

function parseArgs(argv) {
    const opt = {
        nodeModules: process.env.ORT_NODE_MODULES || '', threads: 2, optLevel: 'all', feeds: [],
    };
    const pos = [];
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === '--node-modules') {
            opt.nodeModules = argv[++i];
        } else if (a === '--opt-level') {
            opt.optLevel = argv[++i]; // disabled | basic | extended | all
        } else if (a === '--threads') {
            opt.threads = parseInt(argv[++i], 10);
        } else if (a === '-h' || a === '--help') {
            usage();
        } else if (pos.length >= 2) {
            const eq = a.indexOf('=');
            if (eq <= 0) {
                usage(`input '${a}' is not NAME=FILE.npy`);
            }
            opt.feeds.push([a.slice(0, eq), a.slice(eq + 1)]);
        } else {
            pos.push(a);
        }
    }
    if (pos.length !== 2) {
        usage('MODEL and OUTDIR are required');
    }
    [opt.model, opt.outDir] = pos;
    return opt;
}

function loadOrt(nodeModules) {
    if (nodeModules) {
        return require(path.resolve(nodeModules, 'onnxruntime-node'));
    }
    return require('onnxruntime-node'); // through NODE_PATH
}

function safeName(name) {
    return name.replace(/[^A-Za-z0-9._-]/g, '_') || '_';
}

async function main() {
    const opt = parseArgs(process.argv.slice(2));
    const ort = loadOrt(opt.nodeModules);
    const session = await ort.InferenceSession.create(opt.model, {
        executionProviders: ['cpu'],
        intraOpNumThreads: opt.threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: opt.optLevel,
        logSeverityLevel: 3, // errors only: ORT warns about unused initializers in some models
    });
    const feeds = {};
    for (const [name, file] of opt.feeds) {
        if (!session.inputNames.includes(name)) {
            const known = session.inputNames.join(', ');
            throw new Error(`model has no input '${name}' (inputs: ${known})`);
        }
        const a = readNpy(file);
        feeds[name] = new ort.Tensor(a.type, a.data, a.dims);
    }
    for (const name of session.inputNames) {
        if (!(name in feeds)) {
            throw new Error(`input '${name}' not given`);
        }
    }
    const t0 = process.hrtime.bigint();
    const results = await session.run(feeds);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    fs.mkdirSync(opt.outDir, { recursive: true });
    const manifest = [];
    const stems = [];
    for (const [k, name] of session.outputNames.entries()) {
        const t = results[name];
        // Same file names as `cinfer run -o`: a stem that collides with an earlier one gets _k.
        let stem = safeName(name);
        stem = stems.includes(stem) ? `${stem}_${k}` : stem;
        stems.push(stem);
        const file = stem + '.npy';
        writeNpy(path.join(opt.outDir, file), t.type, t.data, t.dims);
        manifest.push({ name, file, dtype: t.type, shape: Array.from(t.dims) });
    }
    fs.writeFileSync(path.join(opt.outDir, 'outputs.json'), JSON.stringify(manifest, null, 1));
    process.stdout.write(`ort_ref: ${path.basename(opt.model)}: ${manifest.length} outputs, ` +
        `run ${ms.toFixed(1)} ms\n`);
    await session.release();
}

main().catch((e) => {
    process.stderr.write(`ort_ref: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
});
