/**
 * End-to-end throughput of the EMBEDDED runtime (`noetl run`'s engine: scheduler inbox loop,
 * worker loops, in-memory bus with ack/redelivery, ordered event log, timers — one process), next
 * to plain-JS baselines measured in the same process, with ratios. No CLI process start-up and no
 * YAML parsing in the timing: each run is `rt.submit({playbook}) -> rt.waitForTerminal(id)` on a
 * fresh runtime with the default 4 worker loops and the default tool registry.
 *
 *   npx tsx tools/bench/embedded.bench.ts [--quick] [--reps N]
 *
 * (a) chain     a chain of 1,000 noop steps (step_0 -> step_1 -> ... -> step_999)
 * (b) loop      one parallel loop of N noop iterations, max_in_flight 64, N = 2,500 / 5,000 / 10,000
 *               (memory after completion vs N: growth per completed iteration)
 * (c) paginate  one loop of 1 item whose pipeline pages 200 times with a policy `jump` back
 *               (init, then fetch + paginate per page: 401 task visits in one command)
 *
 * Every scenario runs in its own child process (`node --expose-gc --import tsx`) so that peak RSS
 * and RSS after completion are not polluted by the other scenarios; each is repeated and the
 * median is reported. Peak RSS is sampled every 5 ms during the run; "after GC" figures are taken
 * after completion with the runtime (and its event log) still open, after two `gc()` calls.
 * Baselines: a plain JS loop building the same number of small event objects per step (the count
 * observed in the real run's log), pushing them into an array and JSON.stringify-ing each — the
 * irreducible cost of recording the events. Numbers only, no assertions.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPlaybook, type NormalizedPlaybook } from '@noetl/dsl';
import { createDefaultTools, createEmbeddedRuntime } from '@noetl/embedded';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const argNum = (name: string, def: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? Number(argv[i + 1]) : def;
};
const gc = (globalThis as { gc?: () => void }).gc;
const MiB = 1024 * 1024;

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

function loopYaml(n: number, mif: number): string {
  return [
    'apiVersion: noetl.io/v2', 'kind: Playbook', 'metadata: { name: bench_loop, path: bench/loop }',
    `workload: { n: ${n} }`,
    'workflow:',
    '  - step: start',
    '    loop:',
    '      in: "{{ range(n) | list }}"',
    '      iterator: i',
    `      spec: { mode: parallel, max_in_flight: ${mif} }`,
    '    tool: { kind: noop }',
  ].join('\n');
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

interface RepStats {
  wallUs: number;
  cpuUs: number;
  peakRss: number;
  rssAfterGc: number;
  heapAfterGc: number;
  /** heap after GC minus heap after GC before the run (runtime and log still alive) */
  heapGrowth: number;
  rssGrowth: number;
  events: number;
  logJsonBytes: number;
  /** heap held by the run's event log alone: after closing the runtime, only the log's events kept */
  heapLog: number;
  /** heap after closing the runtime and dropping it, minus before the run (a leak shows here) */
  heapAfterClose: number;
}

export interface ChildResult {
  scenario: Scenario;
  size: number;
  units: number;
  unitName: string;
  reps: RepStats[];
  baselineUs: number[];
  eventsPerUnit: number;
  resultBytesPerUnit: number;
  load: number[];
}

/** Full GC after the current macrotask has unwound (objects referenced from the stack stay alive otherwise). */
async function collect(): Promise<void> {
  await new Promise((r) => setTimeout(r, 0));
  if (!gc) return;
  gc();
  gc();
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

async function runOnce(pb: NormalizedPlaybook, tools: ReturnType<typeof createDefaultTools>, home: string, measure: boolean): Promise<{ stats: RepStats; result: unknown }> {
  await collect();
  const heap0 = process.memoryUsage().heapUsed;
  const rss0 = process.memoryUsage().rss;
  let rt: ReturnType<typeof createEmbeddedRuntime> | null = createEmbeddedRuntime({
    tools, workers: 4, cwd: home, env: { NOETL_HOME: home }, log: (l) => process.stderr.write(`${l}\n`),
  });
  let peak = rss0;
  const sampler = setInterval(() => {
    const r = process.memoryUsage.rss();
    if (r > peak) peak = r;
  }, 5);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const id = await rt.submit({ playbook: pb, file: join(home, 'bench.yaml') }, {});
  const outcome = await rt.waitForTerminal(id);
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage.rss());
  if (outcome.status !== 'completed') throw new Error(`bench execution ${outcome.status}: ${JSON.stringify(outcome.error)}`);
  let events: unknown[] | null = [...rt.treeEvents(id)];
  const nEvents = events.length;
  let logJsonBytes = 0;
  if (measure) for (const e of events) logJsonBytes += Buffer.byteLength(JSON.stringify(e));
  await collect();
  const mem = process.memoryUsage();
  const stats: RepStats = {
    wallUs, cpuUs: cpu.user + cpu.system, peakRss: peak, rssAfterGc: mem.rss, heapAfterGc: mem.heapUsed,
    heapGrowth: mem.heapUsed - heap0, rssGrowth: mem.rss - rss0, events: nEvents, logJsonBytes, heapLog: 0, heapAfterClose: 0,
  };
  await rt.close();
  rt = null;
  await collect();
  stats.heapLog = process.memoryUsage().heapUsed - heap0;
  if (events.length !== nEvents) throw new Error('unreachable');
  events = null;
  await collect();
  stats.heapAfterClose = process.memoryUsage().heapUsed - heap0;
  return { stats, result: outcome.result };
}

/**
 * Baseline: the irreducible cost of recording `units * eventsPerUnit` events: build a small event
 * envelope (the fields every logged event has, a fresh ISO timestamp, a small payload), push it
 * into an array and JSON.stringify it; plus, for loops, one small result object per iteration in a
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
  const tools = createDefaultTools({ env: {} });
  try {
    const units = unitsOf(s, size);
    // warm-up (JIT, lazy requires, the tool registry): a smaller run of the same shape, twice
    const warmPb = playbookFor(s, Math.max(10, Math.floor(size / 5)));
    for (let i = 0; i < 2; i++) await runOnce(warmPb, tools, home, false);
    const pb = playbookFor(s, size);
    const out: RepStats[] = [];
    let result: unknown;
    for (let i = 0; i < reps; i++) {
      const r = await runOnce(pb, tools, home, i === 0);
      out.push(r.stats);
      result = r.result;
    }
    const eventsPerUnit = out[0].events / units;
    baseline(units, eventsPerUnit, s === 'loop'); // warm-up
    const baselineUs = Array.from({ length: reps }, () => baseline(units, eventsPerUnit, s === 'loop'));
    const resultBytesPerUnit = s === 'loop' ? Buffer.byteLength(JSON.stringify(result)) / units : 0;
    const res: ChildResult = {
      scenario: s, size, units, unitName: s === 'chain' ? 'step' : s === 'loop' ? 'iter' : 'visit',
      reps: out, baselineUs, eventsPerUnit, resultBytesPerUnit, load: loadavg(),
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

function spawnChild(s: Scenario, size: number, reps: number): ChildResult {
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', __filename, '--child', s, String(size), String(reps)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * MiB,
  });
  const line = out.split('\n').find((l) => l.startsWith('@@RESULT '));
  if (!line) throw new Error(`child ${s} ${size} printed no result:\n${out}`);
  return JSON.parse(line.slice('@@RESULT '.length)) as ChildResult;
}

function row(r: ChildResult): string[] {
  const wall = median(r.reps.map((x) => x.wallUs));
  const cpu = median(r.reps.map((x) => x.cpuUs));
  const base = median(r.baselineUs);
  const perUnit = wall / r.units;
  const name = r.scenario === 'chain' ? `(a) chain ${r.size} steps` : r.scenario === 'loop' ? `(b) loop ${r.size} iters, mif 64` : `(c) paginate ${r.size} pages`;
  return [
    name,
    `${(wall / 1000).toFixed(0)}`,
    `${perUnit.toFixed(1)}/${r.unitName}`,
    `${Math.round(1e6 / perUnit).toLocaleString('en-US')}`,
    `${(cpu / r.units).toFixed(1)}`,
    `${r.eventsPerUnit.toFixed(2)}`,
    `${(base / r.units).toFixed(2)}`,
    `${(wall / base).toFixed(0)}x`,
    `${(median(r.reps.map((x) => x.peakRss)) / MiB).toFixed(0)}`,
    `${(median(r.reps.map((x) => x.rssAfterGc)) / MiB).toFixed(0)}`,
    `${(median(r.reps.map((x) => x.heapGrowth)) / MiB).toFixed(1)}`,
  ];
}

function table(rows: string[][], head: string[]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [fmt(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(fmt)].join('\n');
}

async function main(): Promise<void> {
  const reps = argNum('reps', QUICK ? 3 : 5);
  const load0 = loadavg();
  console.log(`embedded runtime benchmark — node ${process.version}, ${reps} reps/scenario (median), ${QUICK ? 'quick' : 'full'}`);
  console.log(`load average at start: ${load0.map((x) => x.toFixed(2)).join(' ')}`);
  const results: ChildResult[] = [];
  const plan: [Scenario, number, number][] = [
    ['chain', 1000, reps],
    ['loop', 2500, reps],
    ['loop', 5000, reps],
    ['loop', 10000, reps],
    ['paginate', 200, QUICK ? 5 : 11],
  ];
  for (const [s, size, n] of plan) {
    const r = spawnChild(s, size, n);
    results.push(r);
    process.stderr.write(`  done ${s} ${size} (load ${r.load.map((x) => x.toFixed(2)).join(' ')})\n`);
  }
  const head = ['scenario', 'wall ms', 'µs/unit', 'units/s', 'CPU µs/unit', 'events/unit', 'baseline µs/unit', 'ratio', 'peak RSS MiB', 'RSS after GC MiB', 'heap growth MiB'];
  console.log('');
  console.log(table(results.map(row), head));

  // (b) memory vs completed iterations
  const loops = results.filter((r) => r.scenario === 'loop');
  const lo = loops[0];
  const hi = loops[loops.length - 1];
  const m = (r: ChildResult, f: (x: RepStats) => number) => median(r.reps.map(f));
  const dN = hi.size - lo.size;
  const heapSlope = (m(hi, (x) => x.heapGrowth) - m(lo, (x) => x.heapGrowth)) / dN;
  const rssSlope = (m(hi, (x) => x.rssAfterGc) - m(lo, (x) => x.rssAfterGc)) / dN;
  const logSlope = (hi.reps[0].logJsonBytes - lo.reps[0].logJsonBytes) / dN;
  console.log('');
  console.log('(b) memory after completion + GC vs completed iterations (runtime and its event log still open):');
  for (const r of loops) {
    console.log(`  ${String(r.size).padStart(6)} iters: heap growth ${(m(r, (x) => x.heapGrowth) / r.size).toFixed(0)} B/iter, RSS growth ${(m(r, (x) => x.rssGrowth) / r.size).toFixed(0)} B/iter, `
      + `log ${(r.reps[0].logJsonBytes / r.size).toFixed(0)} B/iter as JSON (${r.eventsPerUnit.toFixed(1)} events/iter), result ${r.resultBytesPerUnit.toFixed(0)} B/iter as JSON, `
      + `of which the event log ${(m(r, (x) => x.heapLog) / r.size).toFixed(0)} B/iter; heap retained after close ${(m(r, (x) => x.heapAfterClose) / MiB).toFixed(2)} MiB`);
  }
  const logHeapSlope = (m(hi, (x) => x.heapLog) - m(lo, (x) => x.heapLog)) / dN;
  console.log(`  slope ${lo.size}->${hi.size}: heap ${heapSlope.toFixed(0)} B/iter (event log ${logHeapSlope.toFixed(0)}, everything else ${(heapSlope - logHeapSlope).toFixed(0)}), RSS ${rssSlope.toFixed(0)} B/iter; log JSON ${logSlope.toFixed(0)} B/iter`);

  const chain = results.find((r) => r.scenario === 'chain')!;
  const chainUs = m(chain, (x) => x.wallUs) / chain.units;
  console.log('');
  console.log(`targets: >= 20,000 noop steps/s (chain: ${Math.round(1e6 / chainUs).toLocaleString('en-US')}), per-step overhead <= 50 µs (chain: ${chainUs.toFixed(1)} µs)`);
  const load1 = loadavg();
  console.log(`load average at end: ${load1.map((x) => x.toFixed(2)).join(' ')} (2 cores; figures are wall time on a shared machine, CPU µs/unit is less sensitive)`);
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
