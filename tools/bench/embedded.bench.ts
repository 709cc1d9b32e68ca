/**
 * End-to-end throughput and memory of the EMBEDDED runtime (what `noetl run` uses: scheduler inbox
 * loop, 4 worker loops, in-memory bus with ack/redelivery, ordered event log, timers — one
 * process), next to plain-JS baselines measured in the same process, with ratios. No CLI process
 * start-up and no YAML parsing in the timing: a run is `rt.submit({playbook}) -> waitForTerminal`
 * on a fresh `createEmbeddedRuntime()` with the default tool registry.
 *
 *   node tools/bench/run.js embedded [--quick] [--reps N] [--json FILE]   # bundled, as `noetl` runs
 *   npx tsx tools/bench/embedded.bench.ts [...]                          # the sources under tsx
 *
 * (a) chain     a chain of 1,000 noop steps (step_0 -> step_1 -> ... -> step_999)
 * (b) loop      one parallel loop of N noop iterations, max_in_flight 64, N = 2,500 / 5,000 /
 *               10,000 (memory after completion vs N: growth per completed iteration)
 * (c) paginate  a loop of 1 item whose pipeline pages 200 times with a policy `jump` back while
 *               `iter.page < 200` (init, then fetch + paginate per page: 401 task visits, one command)
 *
 * Each scenario runs in its own child process (`node --expose-gc [--max-semi-space-size=N]`, plus
 * `--enable-source-maps` when bundled or `--import tsx` under tsx),
 * so memory figures are not polluted by other scenarios. In a child: warm-up runs (>= 5, >= 3 s;
 * they also count the logged events), then the timing runs (median and best reported; no forced GC
 * around them), then 2 memory runs that start from a full GC: peak RSS (sampled every 10 ms), RSS
 * and heap after completion + full GC (and a 250 ms pause: V8 returns freed pages on background
 * threads) with the runtime — and its event log — still open (measured before anything reads the
 * log back), and the heap left after closing the runtime. The event log
 * keeps a bounded tail of each run in memory and spills older events to a temp file
 * (`eventLog.memoryEvents`, default 8,192); "spilled/unit" says how many events per unit went there.
 * "GC µs" is main-thread GC pause time inside the run (perf_hooks). Baselines: a plain JS loop
 * building the same number of small event objects per unit as the real run logged, pushing them
 * into an array and JSON.stringify-ing each (the irreducible cost of recording the events).
 * Numbers only, no assertions; report the load average with them (the machine may be shared).
 *
 *   --semi N        young generation of the children: --max-semi-space-size=N (MiB; default 0 =
 *                   node's own, as `noetl` runs)
 *   --only S[,S..]  run only these scenarios (chain, loop, paginate)
 *   --chain N       steps of the chain (default 1,000; beyond ~1,000 its 8 events/step outgrow the
 *                   log's in-memory tail and spill)
 *   --tail N        the event log's in-memory tail (eventLog.memoryEvents; default the runtime's)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { loadPlaybook, type NormalizedPlaybook } from '@noetl/dsl';
import { createDefaultTools, createEmbeddedRuntime, DEFAULT_MEMORY_EVENTS } from '@noetl/embedded';
import type { ToolRegistry } from '@noetl/tools';
import { loopYaml } from './playbooks';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const argNum = (name: string, def: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? Number(argv[i + 1]) : def;
};
const argStr = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const gc = (globalThis as { gc?: () => void }).gc;
const MiB = 1024 * 1024;
/**
 * In-memory tail of the event log (events beyond it per tree are spilled): the runtime's default,
 * or `--tail N` (passed on to the children) to see what spilling costs.
 */
const TAIL_ARG = argv.includes('--tail') ? Number(argv[argv.indexOf('--tail') + 1]) : undefined;
const MEMORY_EVENTS = TAIL_ARG ?? (DEFAULT_MEMORY_EVENTS as number | undefined) ?? Number.POSITIVE_INFINITY;
/**
 * Events of a run with `n` events that sit in the spill file: the log spills the oldest
 * min(1,024, MEMORY_EVENTS / 2) events of a tree's tail each time the tail reaches MEMORY_EVENTS
 * (libs/embedded/src/log.ts).
 */
function spilledOf(n: number): number {
  const chunk = Math.min(1024, MEMORY_EVENTS >> 1);
  return n < MEMORY_EVENTS ? 0 : (Math.floor((n - MEMORY_EVENTS) / chunk) + 1) * chunk;
}
/**
 * Young generation of the children (MiB; 0 = node's default, what `noetl` runs with). A larger one
 * (--semi 32/64) was measured: no consistent gain here, +20–30 MiB RSS (docs/benchmarks.md).
 */
const SEMI_SPACE_MIB = 0;

// ------------------------------------------------------------------ playbooks
function load(yaml: string): NormalizedPlaybook {
  const r = loadPlaybook(yaml);
  if (!r.ok || !r.playbook) throw new Error(`bench playbook invalid: ${JSON.stringify(r.diagnostics.slice(0, 3))}`);
  return r.playbook;
}

function chainYaml(n: number): string {
  const lines = [
    'apiVersion: noetl.io/v2', 'kind: Playbook', 'metadata: { name: bench_chain, path: bench/chain }',
    'executor: { spec: { entry_step: step_0 } }', 'workflow:',
  ];
  for (let i = 0; i < n; i++) {
    lines.push(`  - step: step_${i}`, '    tool: { kind: noop }');
    if (i + 1 < n) lines.push(`    next: { arcs: [ { step: step_${i + 1} } ] }`);
  }
  return lines.join('\n');
}

function paginateYaml(pages: number): string {
  return `apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: bench_paginate, path: bench/paginate }
workload: { pages: ${pages} }
workflow:
  - step: start
    loop:
      in: "{{ [1] }}"
      iterator: src
    tool:
      - name: init
        kind: noop
        spec:
          policy:
            rules:
              - else:
                  then: { do: continue, set: { iter.page: 1 } }
      - name: fetch
        kind: noop
        result: { page: "{{ iter.page }}", items: [1, 2, 3] }
      - name: paginate
        kind: noop
        spec:
          policy:
            rules:
              - when: "{{ iter.page < pages }}"
                then: { do: jump, to: fetch, set: { iter.page: "{{ iter.page + 1 }}" } }
              - else:
                  then: { do: continue }
`;
}

// ------------------------------------------------------------------ child: one scenario
type Scenario = 'chain' | 'loop' | 'paginate';

interface TimingRun {
  wallUs: number;
  /** process CPU (user + system, all threads: GC helpers and the JIT included) */
  cpuUs: number;
  /** main-thread GC pause time inside the run */
  gcUs: number;
  events: number;
}

interface MemoryRun {
  peakRss: number;
  rssAfterGc: number;
  /** heap after completion + full GC minus heap after full GC before the run (runtime and log open) */
  heapGrowth: number;
  rssGrowth: number;
  /** heap left after closing the runtime and dropping it (a leak shows here) */
  heapAfterClose: number;
  logJsonBytes: number;
  /** events of the run in the log's spill file (not in memory) */
  spilled: number;
}

export interface ChildResult {
  scenario: Scenario;
  size: number;
  units: number;
  unitName: string;
  timing: TimingRun[];
  memory: MemoryRun[];
  baselineUs: number[];
  eventsPerUnit: number;
  resultBytesPerUnit: number;
  load: number[];
  semiSpaceMib: number;
}

/** main-thread GC pauses, from a perf_hooks observer (children only) */
const gcEntries: { startTime: number; duration: number }[] = [];

/** Full GC once the current macrotask has unwound (objects referenced from its stack would stay alive). */
async function collect(): Promise<void> {
  // in a macrotask of its own, with nothing of ours on the stack
  await new Promise<void>((r) =>
    setTimeout(() => {
      gc?.();
      gc?.();
      r();
    }, 0),
  );
}

function playbookFor(s: Scenario, size: number): NormalizedPlaybook {
  if (s === 'chain') return load(chainYaml(size));
  if (s === 'loop') return load(loopYaml(size, 64));
  return load(paginateYaml(size));
}

/** Work units of a run: steps, iterations, or task visits (1 init + 2 per page). */
function unitsOf(s: Scenario, size: number): number {
  return s === 'paginate' ? 1 + 2 * size : size;
}

interface Env {
  pb: NormalizedPlaybook;
  tools: ToolRegistry;
  home: string;
}

async function execute(env: Env, onStart?: () => void): Promise<{ rt: ReturnType<typeof createEmbeddedRuntime>; id: string; result: unknown; wallUs: number; cpuUs: number; p0: number; p1: number }> {
  const rt = createEmbeddedRuntime({
    tools: env.tools, workers: 4, cwd: env.home, env: { NOETL_HOME: env.home }, log: (l) => process.stderr.write(`${l}\n`),
    ...(TAIL_ARG !== undefined ? { eventLog: { memoryEvents: TAIL_ARG, memoryBytes: Number.MAX_SAFE_INTEGER } } : {}),
  });
  onStart?.();
  const cpu0 = process.cpuUsage();
  const p0 = performance.now();
  const t0 = process.hrtime.bigint();
  const id = await rt.submit({ playbook: env.pb, file: join(env.home, 'bench.yaml') }, {});
  const outcome = await rt.waitForTerminal(id);
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const p1 = performance.now();
  if (outcome.status !== 'completed') throw new Error(`bench execution ${outcome.status}: ${JSON.stringify(outcome.error)}`);
  return { rt, id, result: outcome.result, wallUs, cpuUs: cpu.user + cpu.system, p0, p1 };
}

async function timingRun(env: Env, countEvents: boolean): Promise<{ run: TimingRun; result: unknown }> {
  const r = await execute(env);
  // reading a spilled log back is not free: only warm-up runs count (every run logs the same events)
  const events = countEvents ? r.rt.treeEvents(r.id).length : 0;
  await r.rt.close();
  await new Promise((res) => setTimeout(res, 0)); // the gc observer delivers asynchronously
  let gcUs = 0;
  for (const g of gcEntries) if (g.startTime >= r.p0 && g.startTime < r.p1) gcUs += g.duration * 1000;
  gcEntries.length = 0;
  return { run: { wallUs: r.wallUs, cpuUs: r.cpuUs, gcUs, events }, result: r.result };
}

/**
 * Full GC, then a pause and another full GC: V8 sweeps and returns freed pages to the OS on
 * background threads, so RSS read right after a GC still counts pages that are about to go.
 */
async function settle(): Promise<void> {
  await collect();
  await new Promise((r) => setTimeout(r, 250));
  await collect();
}

async function memoryRun(env: Env, totalEvents: number): Promise<MemoryRun> {
  await settle();
  const heap0 = process.memoryUsage().heapUsed;
  const rss0 = process.memoryUsage().rss;
  // the runtime lives only inside measureOpen (a returned async frame keeps nothing alive)
  const out = await measureOpen(env, heap0, rss0, totalEvents);
  // pending timers/promises of the closed runtime may still hold it for a moment: settle first
  let heap = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 20));
    await collect();
    const h = process.memoryUsage().heapUsed;
    if (h >= heap - 64 * 1024) break;
    heap = h;
  }
  out.heapAfterClose = Math.min(heap, process.memoryUsage().heapUsed) - heap0;
  return out;
}

/**
 * Runs once; measures after completion + full GC with the runtime open (before anything reads the
 * log back, which would materialize spilled events); then sizes the log as JSON; closes it.
 */
async function measureOpen(env: Env, heap0: number, rss0: number, totalEvents: number): Promise<MemoryRun> {
  let peak = rss0;
  let sampler: NodeJS.Timeout | undefined;
  const r = await execute(env, () => {
    sampler = setInterval(() => {
      const v = process.memoryUsage.rss();
      if (v > peak) peak = v;
    }, 10);
  });
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage.rss());
  await settle();
  const mem = process.memoryUsage();
  const out: MemoryRun = {
    peakRss: peak, rssAfterGc: mem.rss, heapGrowth: mem.heapUsed - heap0, rssGrowth: mem.rss - rss0, heapAfterClose: 0, logJsonBytes: 0,
    spilled: spilledOf(totalEvents),
  };
  for (const e of r.rt.treeEvents(r.id)) out.logJsonBytes += Buffer.byteLength(JSON.stringify(e));
  await r.rt.close();
  return out;
}

/**
 * Baseline: the irreducible cost of recording `units * eventsPerUnit` events: build a small event
 * envelope (the fields every logged event has, a fresh ISO timestamp, a small payload), push it
 * into an array and JSON.stringify it; for loops also one small result object per iteration in a
 * results array. Returns wall µs.
 */
function baseline(units: number, eventsPerUnit: number, withResults: boolean): number {
  const t0 = process.hrtime.bigint();
  const log: object[] = [];
  const results: unknown[] = [];
  let bytes = 0;
  let seq = 0;
  const perUnit = Math.round(eventsPerUnit);
  for (let u = 0; u < units; u++) {
    const runId = `01JBENCH0000000000000000EX/r/${u}.0`;
    for (let k = 0; k < perUnit; k++) {
      const e = {
        v: 1, event_id: `${runId}/c1/e1/${k}`, event_type: 'task.done', ts: new Date().toISOString(),
        execution_id: '01JBENCH0000000000000000EX', root_execution_id: '01JBENCH0000000000000000EX', source: 'worker', producer_id: 'w-1',
        step: 'start', step_run_id: runId, command_id: `${runId}/c1`, status: 'ok', seq: ++seq, payload: { k, directive: 'continue' },
      };
      log.push(e);
      bytes += JSON.stringify(e).length;
    }
    if (withResults) results.push({ status: 'ok', message: 'noop' });
  }
  const us = Number(process.hrtime.bigint() - t0) / 1000;
  if (bytes < 0 || log.length < 0) console.log(results.length); // keep the work observable
  return us;
}

async function child(s: Scenario, size: number, reps: number): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'noetl-bench-'));
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcEntries.push({ startTime: e.startTime, duration: e.duration });
  }).observe({ entryTypes: ['gc'] });
  const tools = createDefaultTools({ env: {} });
  try {
    const units = unitsOf(s, size);
    const env: Env = { pb: playbookFor(s, size), tools, home };
    // warm-up (JIT, lazy requires, tool registry, heap sizing): at least 5 runs and 3 s — with
    // less, the first timing runs of the chain were still 2-3x slower than the later ones
    const warmEnd = Date.now() + 3000;
    let totalEvents = 0;
    for (let i = 0; i < 5 || Date.now() < warmEnd; i++) totalEvents = (await timingRun(env, i === 0)).run.events || totalEvents;
    const timing: TimingRun[] = [];
    let result: unknown;
    for (let i = 0; i < reps; i++) {
      const r = await timingRun(env, false);
      r.run.events = totalEvents;
      timing.push(r.run);
      result = r.result;
    }
    const memory: MemoryRun[] = [];
    for (let i = 0; i < 2; i++) memory.push(await memoryRun(env, totalEvents));
    const eventsPerUnit = totalEvents / units;
    baseline(units, eventsPerUnit, s === 'loop'); // warm-up
    const baselineUs = Array.from({ length: reps }, () => baseline(units, eventsPerUnit, s === 'loop'));
    const res: ChildResult = {
      scenario: s, size, units, unitName: s === 'chain' ? 'step' : s === 'loop' ? 'iter' : 'visit',
      timing, memory, baselineUs, eventsPerUnit,
      resultBytesPerUnit: s === 'loop' ? Buffer.byteLength(JSON.stringify(result)) / units : 0,
      load: loadavg(),
      semiSpaceMib: semiOf(),
    };
    process.stdout.write(`\n@@RESULT ${JSON.stringify(res)}\n`);
  } finally {
    await tools.close();
    rmSync(home, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ parent: orchestration and table
const median = (xs: number[]): number => {
  const a = [...xs].sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
};
const mt = (r: ChildResult, f: (x: TimingRun) => number) => median(r.timing.map(f));
const mm = (r: ChildResult, f: (x: MemoryRun) => number) => median(r.memory.map(f));

/** the children's --max-semi-space-size (MiB), from --semi or the default; 0 = node's own */
function semiOf(): number {
  const v = argStr('semi');
  return v === undefined ? SEMI_SPACE_MIB : Number(v);
}

/** Children run like their parent: from the bundle (`node tools/bench/run.js embedded`, with source
 * maps on as `bin/noetl.js` sets them) or through tsx (`npx tsx tools/bench/embedded.bench.ts`). */
function runnerFlags(): string[] {
  return __filename.endsWith('.js') ? ['--enable-source-maps'] : ['--import', 'tsx'];
}

function spawnChild(s: Scenario, size: number, reps: number): ChildResult {
  const semi = semiOf();
  const flags = ['--expose-gc', ...(semi > 0 ? [`--max-semi-space-size=${semi}`] : [])];
  const out = execFileSync(process.execPath, [...flags, ...runnerFlags(), __filename, '--child', s, String(size), String(reps), '--semi', String(semi),
    ...(TAIL_ARG !== undefined ? ['--tail', String(TAIL_ARG)] : [])], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * MiB,
  });
  const line = out.split('\n').find((l) => l.startsWith('@@RESULT '));
  if (!line) throw new Error(`child ${s} ${size} printed no result:\n${out}`);
  return JSON.parse(line.slice('@@RESULT '.length)) as ChildResult;
}

function row(r: ChildResult): string[] {
  const wall = mt(r, (x) => x.wallUs);
  const base = median(r.baselineUs);
  const perUnit = wall / r.units;
  const name = r.scenario === 'chain' ? `(a) chain ${r.size} steps` : r.scenario === 'loop' ? `(b) loop ${r.size} iters, mif 64` : `(c) paginate ${r.size} pages`;
  const best = Math.min(...r.timing.map((x) => x.wallUs));
  return [
    name,
    `${(wall / 1000).toFixed(0)}`,
    `${perUnit.toFixed(1)}/${r.unitName}`,
    `${(best / r.units).toFixed(1)}`,
    `${Math.round(1e6 / perUnit).toLocaleString('en-US')}`,
    `${(mt(r, (x) => x.cpuUs) / r.units).toFixed(1)}`,
    `${(mt(r, (x) => x.gcUs) / r.units).toFixed(1)}`,
    `${r.eventsPerUnit.toFixed(2)}`,
    `${(mm(r, (x) => x.spilled) / r.units).toFixed(2)}`,
    `${(base / r.units).toFixed(2)}`,
    `${(wall / base).toFixed(0)}x`,
    `${(mm(r, (x) => x.peakRss) / MiB).toFixed(0)}`,
    `${(mm(r, (x) => x.rssAfterGc) / MiB).toFixed(0)}`,
    `${(mm(r, (x) => x.heapGrowth) / MiB).toFixed(1)}`,
  ];
}

function table(rows: string[][], head: string[]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [fmt(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(fmt)].join('\n');
}

async function main(): Promise<void> {
  const reps = argNum('reps', QUICK ? 3 : 9);
  const load0 = loadavg();
  const semi = semiOf();
  console.log(`embedded runtime benchmark — node ${process.version}, ${reps} timing runs/scenario (median) + 2 memory runs, ${QUICK ? 'quick' : 'full'}, `
    + `${__filename.endsWith('.js') ? 'bundled (as `noetl` runs)' : 'sources under tsx'}, children with ${semi > 0 ? `--max-semi-space-size=${semi}` : "node's default young generation"}, event log tail ${MEMORY_EVENTS} events`);
  console.log(`load average at start: ${load0.map((x) => x.toFixed(2)).join(' ')}`);
  const results: ChildResult[] = [];
  const plan: [Scenario, number, number][] = [
    ['chain', argNum('chain', 1000), reps],
    ['loop', 2500, reps],
    ['loop', 5000, reps],
    ['loop', 10000, reps],
    ['paginate', 200, QUICK ? 5 : 15],
  ];
  const only = argStr('only')?.split(',');
  for (const [s, size, n] of plan) {
    if (only && !only.includes(s)) continue;
    const r = spawnChild(s, size, n);
    results.push(r);
    process.stderr.write(`  done ${s} ${size} (load ${r.load.map((x) => x.toFixed(2)).join(' ')})\n`);
  }
  const head = ['scenario', 'wall ms', 'µs/unit', 'best µs/unit', 'units/s', 'CPU µs/unit', 'GC µs/unit', 'events/unit', 'spilled/unit', 'baseline µs/unit', 'ratio', 'peak RSS MiB', 'RSS after GC MiB', 'heap growth MiB'];
  console.log('');
  console.log(table(results.map(row), head));

  // (b) memory vs completed iterations
  const loops = results.filter((r) => r.scenario === 'loop');
  if (loops.length >= 2) {
    const lo = loops[0];
    const hi = loops[loops.length - 1];
    const dN = hi.size - lo.size;
    const slope = (f: (x: MemoryRun) => number) => (mm(hi, f) - mm(lo, f)) / dN;
    console.log('');
    console.log('(b) memory after completion + full GC vs completed iterations (runtime and its event log still open):');
    for (const r of loops) {
      console.log(`  ${String(r.size).padStart(6)} iters: heap growth ${(mm(r, (x) => x.heapGrowth) / r.size).toFixed(0)} B/iter, RSS growth ${(mm(r, (x) => x.rssGrowth) / r.size).toFixed(0)} B/iter; `
        + `${r.eventsPerUnit.toFixed(1)} events/iter (${(mm(r, (x) => x.logJsonBytes) / r.size).toFixed(0)} B/iter as JSON), ${(mm(r, (x) => x.spilled) / r.size).toFixed(2)} spilled/iter; `
        + `iteration result ${r.resultBytesPerUnit.toFixed(0)} B as JSON; heap left after close ${(mm(r, (x) => x.heapAfterClose) / MiB).toFixed(2)} MiB`);
    }
    console.log(`  slope ${lo.size} -> ${hi.size}: heap ${slope((x) => x.heapGrowth).toFixed(0)} B/iter, RSS after GC ${slope((x) => x.rssAfterGc).toFixed(0)} B/iter, `
      + `peak RSS ${slope((x) => x.peakRss).toFixed(0)} B/iter`);
  }

  const chain = results.find((r) => r.scenario === 'chain');
  if (chain) {
    const chainUs = mt(chain, (x) => x.wallUs) / chain.units;
    console.log('');
    console.log(`targets: >= 20,000 noop steps/s (chain: ${Math.round(1e6 / chainUs).toLocaleString('en-US')}), per-step overhead <= 50 µs (chain: ${chainUs.toFixed(1)} µs)`);
  }
  const load1 = loadavg();
  console.log(`load average at end: ${load1.map((x) => x.toFixed(2)).join(' ')} (2 cores; wall figures on a shared machine; CPU counts every thread of the process: GC helpers, JIT)`);
  const json = argStr('json');
  if (json) writeFileSync(json, JSON.stringify({ node: process.version, load: [load0, load1], results }, null, 1));
}

if (argv[0] === '--child') {
  child(argv[1] as Scenario, Number(argv[2]), Number(argv[3])).then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
} else {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
