// One exported model in one fresh Node.js process: import the runtime, load the model, run every input, time some.
//
//   node run.js request.json
//
// The request (written by fwbench.experiments.outside_python.node): runtime ("onnxruntime-node",
// "onnxruntime-web" or "tfjs-wasm"), modules (the node_modules folder that holds it), model (a .onnx file, or
// a TF.js model.json), threads, inputs [{batch, shape, file}] (raw little-endian float32), outputs (a folder
// for the logits, raw float32 like the inputs), latency (batch sizes to time), timer {warmup, repeats,
// min_repeats, max_time_s} (fwbench.measure.timing.TimerConfig's meaning) and out (where the result JSON goes).
// Every call is timed until its output is a Float32Array in this process: that is the synchronization point.
'use strict';

const started = process.hrtime.bigint();
const fs = require('fs');
const path = require('path');

const seconds = (from, to) => Number(to - from) / 1e9;
const now = () => process.hrtime.bigint();
const errorOf = (e) => ({type: (e && e.name) || 'Error', message: String((e && e.message) || e).split('\n')[0].slice(0, 500),
                         traceback: String((e && e.stack) || e).slice(-8000)});

function floats(file) {
  const buf = fs.readFileSync(file);
  // A copy: a Buffer may start at an offset a Float32Array cannot view.
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

function versionOf(modules, name) {
  return `${name} ${JSON.parse(fs.readFileSync(path.join(modules, name, 'package.json'), 'utf8')).version}`;
}

function tfjsModelFromFiles(tf, modelJson) {
  // tfjs without tfjs-node has no file:// loader: the model.json and its weight shards are read here.
  const doc = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
  const dir = path.dirname(modelJson);
  const specs = [];
  const shards = [];
  for (const group of doc.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) shards.push(fs.readFileSync(path.join(dir, p)));
  }
  const all = Buffer.concat(shards);
  return tf.io.fromMemory({modelTopology: doc.modelTopology, weightSpecs: specs,
                           weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
                           format: doc.format, generatedBy: doc.generatedBy, convertedBy: doc.convertedBy,
                           signature: doc.signature, userDefinedMetadata: doc.userDefinedMetadata});
}

async function tfjsRun(tf, graph, data, shape) {
  const x = tf.tensor(data, shape, 'float32');
  let y = graph.execute(x);
  if (Array.isArray(y)) y = y[0];
  const out = await y.data();  // the logits back in this process: the work is done
  tf.dispose([x, y]);
  return out;
}

// Each runtime: what to import (timed as the import), how to load a model into x -> Promise<Float32Array>.
const RUNTIMES = {
  // The native binding: reached only where its install script could download libtensorflow (not offline).
  'tfjs-node': {
    package: '@tensorflow/tfjs-node',
    import: (modules) => require(path.join(modules, '@tensorflow/tfjs-node')),
    async load(tf, model, threads) {
      const graph = await tf.loadGraphModel(tfjsModelFromFiles(tf, model));
      return {threads_used: threads, run: (data, shape) => tfjsRun(tf, graph, data, shape)};
    },
  },
  'onnxruntime-node': {
    package: 'onnxruntime-node',
    import: (modules) => require(path.join(modules, 'onnxruntime-node')),
    async load(ort, model, threads) {
      const session = await ort.InferenceSession.create(model, {
        executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1});
      const [input] = session.inputNames;
      const [output] = session.outputNames;
      return {threads_used: threads, run: async (data, shape) => {
        const result = await session.run({[input]: new ort.Tensor('float32', data, shape)});
        return result[output].data;
      }};
    },
  },
  'onnxruntime-web': {
    package: 'onnxruntime-web',
    import: (modules) => require(path.join(modules, 'onnxruntime-web')),
    async load(ort, model, threads) {
      ort.env.wasm.numThreads = threads;
      const session = await ort.InferenceSession.create(fs.readFileSync(model), {executionProviders: ['wasm']});
      const [input] = session.inputNames;
      const [output] = session.outputNames;
      return {threads_used: ort.env.wasm.numThreads, run: async (data, shape) => {
        const result = await session.run({[input]: new ort.Tensor('float32', data, shape)});
        return result[output].data;
      }};
    },
  },
  'tfjs-wasm': {
    package: '@tensorflow/tfjs-backend-wasm',
    import(modules) {
      const tf = require(path.join(modules, '@tensorflow/tfjs'));
      const wasm = require(path.join(modules, '@tensorflow/tfjs-backend-wasm'));
      return {tf, wasm, modules};
    },
    async load({tf, wasm, modules}, model, threads) {
      wasm.setWasmPaths(path.join(modules, '@tensorflow/tfjs-backend-wasm', 'dist') + path.sep);
      wasm.setThreadsCount(threads);
      if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") refused the WebAssembly backend');
      await tf.ready();
      const graph = await tf.loadGraphModel(tfjsModelFromFiles(tf, model));
      return {threads_used: wasm.getThreadsCount(), run: (data, shape) => tfjsRun(tf, graph, data, shape)};
    },
  },
};

async function timed(run, data, shape, timer) {
  for (let i = 0; i < timer.warmup; i++) await run(data, shape);
  const samples = [];
  const deadline = now() + BigInt(Math.round(timer.max_time_s * 1e9));
  while (samples.length < timer.repeats) {
    if (samples.length >= timer.min_repeats && now() > deadline) break;
    const start = now();
    await run(data, shape);
    samples.push(seconds(start, now()));
  }
  return samples;
}

async function main(request) {
  const spec = RUNTIMES[request.runtime];
  const result = {runtime: request.runtime, node_version: process.version, threads: request.threads, runs: {},
                  latency: {}, error: null};
  const finish = () => {
    result.process_s = seconds(started, now());
    fs.writeFileSync(request.out + '.part', JSON.stringify(result));
    fs.renameSync(request.out + '.part', request.out);
  };
  let model;
  try {
    if (!spec) throw new Error(`unknown runtime ${request.runtime}`);
    result.runtime_version = versionOf(request.modules, spec.package);
    const importStart = now();
    const module = spec.import(request.modules);
    const loadStart = now();
    model = await spec.load(module, request.model, request.threads);
    result.import_s = seconds(importStart, loadStart);
    result.load_s = seconds(loadStart, now());
    result.threads_used = model.threads_used;
  } catch (e) {
    result.stage = 'load';
    result.error = errorOf(e);
    return finish();
  }
  const inputs = {};
  for (const input of request.inputs) {
    const data = floats(input.file);
    inputs[input.batch] = {data, shape: input.shape};
    try {
      const start = now();
      const out = await model.run(data, input.shape);
      const firstCall = seconds(start, now());
      const file = path.join(request.outputs, `b${input.batch}.f32`);
      fs.writeFileSync(file, Buffer.from(out.buffer, out.byteOffset, out.byteLength));
      result.runs[input.batch] = {ok: true, first_call_s: firstCall, output: file, length: out.length};
    } catch (e) {
      result.runs[input.batch] = {ok: false, error: errorOf(e)};
    }
  }
  for (const batch of request.latency) {
    if (!(result.runs[batch] && result.runs[batch].ok)) continue;
    const {data, shape} = inputs[batch];
    result.latency[batch] = {samples_s: await timed(model.run, data, shape, request.timer)};
  }
  finish();
}

const request = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
main(request).then(() => process.exit(0), (e) => {
  // Anything main did not catch still ends as a result the caller can store.
  fs.writeFileSync(request.out, JSON.stringify({runtime: request.runtime, stage: 'run', error: errorOf(e)}));
  process.exit(1);
});
