// One exported model in a real browser page: load the runtime's script, the model, run every input, time some,
// then POST the result to the loopback server that served the page (fwbench.experiments.outside_python.browser).
// config.json names the runtime ("onnxruntime-web" or "tfjs-wasm"), the model URL, threads, inputs, the batch
// sizes to time and the timer (fwbench.measure.timing.TimerConfig's meaning). Every call is timed until its
// output is a Float32Array in the page: that is the synchronization point.
'use strict';

const errorOf = (e) => ({type: (e && e.name) || 'Error', message: String((e && e.message) || e).split('\n')[0].slice(0, 500),
                         traceback: String((e && e.stack) || e).slice(-8000)});

function script(src) {
  return new Promise((done, fail) => {
    const tag = document.createElement('script');
    tag.src = src;
    tag.onload = done;
    tag.onerror = () => fail(new Error(`could not load ${src}`));
    document.head.appendChild(tag);
  });
}

const RUNTIMES = {
  'onnxruntime-web': {
    async import() { await script('/runtime/onnxruntime-web/dist/ort.wasm.min.js'); return window.ort; },
    async load(ort, model, threads) {
      ort.env.wasm.wasmPaths = '/runtime/onnxruntime-web/dist/';
      ort.env.wasm.numThreads = threads;
      const session = await ort.InferenceSession.create(model, {executionProviders: ['wasm']});
      const [input] = session.inputNames;
      const [output] = session.outputNames;
      return {version: ort.env.versions.web, threads_used: ort.env.wasm.numThreads, run: async (data, shape) => {
        const result = await session.run({[input]: new ort.Tensor('float32', data, shape)});
        return result[output].data;
      }};
    },
  },
  'tfjs-wasm': {
    async import() {
      await script('/runtime/@tensorflow/tfjs/dist/tf.min.js');
      await script('/runtime/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js');
      return window.tf;
    },
    async load(tf, model, threads) {
      tf.wasm.setWasmPaths('/runtime/@tensorflow/tfjs-backend-wasm/dist/');
      tf.wasm.setThreadsCount(threads);
      if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") refused the WebAssembly backend');
      await tf.ready();
      const graph = await tf.loadGraphModel(model);
      return {version: tf.version.tfjs, threads_used: tf.wasm.getThreadsCount(), run: async (data, shape) => {
        const x = tf.tensor(data, shape, 'float32');
        let y = graph.execute(x);
        if (Array.isArray(y)) y = y[0];
        const out = await y.data();
        tf.dispose([x, y]);
        return out;
      }};
    },
  },
};

async function timed(run, data, shape, timer) {
  for (let i = 0; i < timer.warmup; i++) await run(data, shape);
  const samples = [];
  const deadline = performance.now() + timer.max_time_s * 1000;
  while (samples.length < timer.repeats) {
    if (samples.length >= timer.min_repeats && performance.now() > deadline) break;
    const start = performance.now();
    await run(data, shape);
    samples.push((performance.now() - start) / 1000);
  }
  return samples;
}

async function main() {
  const config = await (await fetch('/config.json')).json();
  const result = {runtime: config.runtime, user_agent: navigator.userAgent, threads: config.threads, runs: {},
                  latency: {}, error: null, cross_origin_isolated: self.crossOriginIsolated,
                  hardware_concurrency: navigator.hardwareConcurrency};
  const spec = RUNTIMES[config.runtime];
  let model;
  try {
    if (!spec) throw new Error(`unknown runtime ${config.runtime}`);
    const importStart = performance.now();
    const module = await spec.import();
    const loadStart = performance.now();
    model = await spec.load(module, config.model, config.threads);
    result.import_s = (loadStart - importStart) / 1000;
    result.load_s = (performance.now() - loadStart) / 1000;
    result.runtime_version = `${config.runtime} ${model.version}`;
    result.threads_used = model.threads_used;
  } catch (e) {
    result.stage = 'load';
    result.error = errorOf(e);
    return result;
  }
  const inputs = {};
  for (const input of config.inputs) {
    const data = new Float32Array(await (await fetch(input.url)).arrayBuffer());
    inputs[input.batch] = {data, shape: input.shape};
    try {
      const start = performance.now();
      const out = await model.run(data, input.shape);
      result.runs[input.batch] = {ok: true, first_call_s: (performance.now() - start) / 1000, logits: Array.from(out)};
    } catch (e) {
      result.runs[input.batch] = {ok: false, error: errorOf(e)};
    }
  }
  for (const batch of config.latency) {
    if (!(result.runs[batch] && result.runs[batch].ok)) continue;
    const {data, shape} = inputs[batch];
    result.latency[batch] = {samples_s: await timed(model.run, data, shape, config.timer)};
  }
  return result;
}

main().catch((e) => ({stage: 'run', error: errorOf(e)})).then(async (result) => {
  await fetch('/result', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(result)});
  document.getElementById('status').textContent = 'done';
  document.title = 'fwbench outside_python: done';
});
