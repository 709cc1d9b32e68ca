// Benchmark for @noetl/worker-runtime: per-visit interpreter overhead of a 200-visit jump-based
// pagination pipeline of noop tasks, next to plain-JS baselines measured in the same run.
// Run: npx tsx tools/bench/worker.bench.ts
//
// Pipeline (one command, 200 task visits, 4 events per visit + 2 per command):
//   fetch     noop  result: {page: "{{ iter.page | default(0) }}", items: [...]}
//   paginate  noop  policy: when iter.page < 99 -> jump fetch, set iter.page += 1; else continue
import type { Command, NoetlEvent } from '../../libs/events/src/index';
import type { Task } from '../../libs/dsl/src/index';
import { ToolRegistry, createNoopTool } from '../../libs/tools/src/index';
import type { ResultStore } from '../../libs/results/src/index';
import { runCommand, type WorkerDeps } from '../../libs/worker-runtime/src/index';

const PAGES = 100;

const set = (target: string, value: unknown) => {
  const [scope, ...path] = target.split('.');
  return { target, scope: scope as 'iter', path, value };
};
const pipeline: Task[] = [
  { name: 'fetch', kind: 'noop', spec: {}, fields: { result: { page: '{{ iter.page | default(0) }}', items: [1, 2, 3] } } },
  {
    name: 'paginate', kind: 'noop', spec: {}, fields: {},
    policy: {
      on_unmatched: 'auto',
      rules: [
        { when: `{{ iter.page | default(0) < ${PAGES - 1} }}`, else: false, then: { do: 'jump', to: 'fetch', set: [set('iter.page', '{{ iter.page | default(0) + 1 }}')] } },
        { else: true, then: { do: 'continue' } },
      ],
    },
  },
];

const EXEC = '01JBENCH000000000000000000';
const command: Command = {
  v: 1, command_id: `${EXEC}/r/1.0/c1`, type: 'step_run', execution_id: EXEC, root_execution_id: EXEC, step: 'paginate', step_run_id: `${EXEC}/r/1.0`,
  iteration: null, playbook: { catalog_id: 'c', path: 'bench/p', name: 'p', version: 1, digest: 'sha256:0' }, pipeline, base_spec: {},
  context: { globals: {}, workload: {}, ctx: {}, args: {}, steps: {}, parent_iter: null }, keychain: [],
  limits: { max_task_executions: 100_000, inline_max_bytes: 102_400, preview_max_bytes: 1024, hydrate_max_bytes: 64 << 20, reference_first: false },
  pool: 'default', issued_at: '2026-01-01T00:00:00.000Z',
};

const noStore: ResultStore = { storeKind: 'fs', put: () => Promise.reject(new Error('unused')), get: () => Promise.reject(new Error('unused')) };
let sinkEvents: NoetlEvent[] = [];
const deps: WorkerDeps = {
  workerId: 'bench',
  tools: new ToolRegistry().register(createNoopTool()),
  results: noStore,
  hydrate: () => { throw new Error('unused'); },
  credentials: { get: async () => undefined },
  emit: async (e) => { sinkEvents.push(e); },
  now: () => new Date(),
  sleep: async () => undefined,
};
const signal = new AbortController().signal;

/** Baseline 1: the same control flow as a plain JS loop (no events). */
async function plainLoop(): Promise<number> {
  let visits = 0;
  let page = 0;
  let pc = 0;
  const out: unknown[] = [];
  while (pc < 2) {
    visits++;
    if (pc === 0) {
      out.push({ page, items: [1, 2, 3] });
      pc = 1;
    } else if (page < PAGES - 1) {
      page += 1;
      pc = 0;
    } else pc = 2;
  }
  return visits + out.length * 0;
}

/** Baseline 2: the same loop, awaiting one async emit of a small event object per event (4 per visit). */
async function eventLoop(): Promise<number> {
  const evs: unknown[] = [];
  const emit = async (type: string, payload: unknown) => { evs.push({ type, ts: new Date().toISOString(), payload }); };
  let visits = 0;
  let page = 0;
  let pc = 0;
  while (pc < 2) {
    visits++;
    await emit('task.started', { pc });
    const data = pc === 0 ? { page, items: [1, 2, 3] } : { status: 'ok', message: 'noop' };
    await emit('task.attempt.done', { outcome: { status: 'ok', data } });
    await emit('task.done', { directive: 'continue' });
    if (pc === 0) pc = 1;
    else if (page < PAGES - 1) {
      page += 1;
      pc = 0;
    } else pc = 2;
  }
  return visits;
}

/** The same deps as the embedded runtime gives its workers: the inbox takes events synchronously, epoch-ms clock. */
const syncDeps: WorkerDeps = {
  ...deps,
  emit: (e) => {
    sinkEvents.push(e);
  },
  nowMs: Date.now,
};

async function worker(): Promise<number> {
  return runWith(deps);
}

async function workerSync(): Promise<number> {
  return runWith(syncDeps);
}

async function runWith(d: WorkerDeps): Promise<number> {
  sinkEvents = [];
  const r = await runCommand(command, { epoch: 1, signal }, d);
  if (r.status !== 'done') throw new Error(`bench pipeline failed: ${JSON.stringify(r.terminal.payload)}`);
  return (r.terminal.payload as { task_visits: number }).task_visits;
}

/** 7 rounds of ~`roundMs` each after a warm-up; best and median us/visit (the machine is shared: report both). */
async function measure(name: string, fn: () => Promise<number>, roundMs = 500): Promise<{ name: string; best: number; median: number; visitsPerRun: number }> {
  const warmEnd = Date.now() + 500;
  while (Date.now() < warmEnd) await fn();
  const rounds: number[] = [];
  let visitsPerRun = 0;
  for (let round = 0; round < 7; round++) {
    let visits = 0;
    const start = process.hrtime.bigint();
    const deadline = start + BigInt(roundMs) * 1_000_000n;
    let now = start;
    while (now < deadline) {
      visitsPerRun = await fn();
      visits += visitsPerRun;
      now = process.hrtime.bigint();
    }
    rounds.push(Number(now - start) / 1000 / visits);
  }
  rounds.sort((a, b) => a - b);
  return { name, best: rounds[0], median: rounds[3], visitsPerRun };
}

async function main(): Promise<void> {
  const base = await measure('plain JS loop (same control flow, no events)', plainLoop);
  const evLoop = await measure('plain JS loop + 3 awaited event pushes per visit', eventLoop);
  const w = await measure('worker-runtime runCommand (noop tasks, templates, policies, events)', worker);
  const ws = await measure('  same, synchronous emit + epoch-ms clock (the embedded host)', workerSync);
  if (w.visitsPerRun !== 2 * PAGES) throw new Error(`expected ${2 * PAGES} visits, got ${w.visitsPerRun}`);
  const fmt = (n: number) => n.toFixed(3).padStart(10);
  console.log(`\nworker pipeline interpreter: ${w.visitsPerRun}-visit jump-based pagination, 7 rounds (best / median)`);
  for (const r of [base, evLoop, w, ws]) console.log(`  ${r.name.padEnd(70)} ${fmt(r.best)} / ${fmt(r.median)} us/visit`);
  console.log(`  interpreter overhead vs plain loop (median): ${fmt(w.median - base.median)} us/visit; vs event loop: ${fmt(w.median - evLoop.median)} us/visit`);
  console.log(`  => ${Math.round(1e6 / w.median).toLocaleString('en-US')} task visits/s on one core at the median (${Math.round(1e6 / w.median / (2 * PAGES)).toLocaleString('en-US')} pipelines/s)`);
}

void main();
