/**
 * Python tool throughput: warm interpreter pool vs a fresh interpreter per task.
 *
 *   npx tsx tools/bench/python-pool.bench.ts [--tasks 2000] [--spawn-tasks 40] [--concurrency 2]
 *
 * Both modes run the same bootstrap (libs/tools/src/local/python-worker.py) through the same
 * tool code; "spawn-per-task" sets maxTasksPerProcess: 1 so every task starts a new python3
 * process (start-up included in the measurement) and the process exits after its one task.
 * The task is `result = {"x": 1}`. Numbers only, no assertions (STYLE.md rule 6).
 */
import { performance } from 'node:perf_hooks';
import { createPythonTool } from '../../libs/tools/src/local';
import { makeTestContext } from '../../libs/tools/src/testing';

interface Args {
  tasks: number;
  spawnTasks: number;
  concurrency: number;
}

function parseArgs(argv: string[]): Args {
  const get = (name: string, def: number): number => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] ? Number(argv[i + 1]) : def;
  };
  return { tasks: get('tasks', 2000), spawnTasks: get('spawn-tasks', 40), concurrency: get('concurrency', 2) };
}

interface Measure {
  label: string;
  tasks: number;
  seconds: number;
  perSec: number;
  p50: number;
  p95: number;
}

async function measure(label: string, tool: ReturnType<typeof createPythonTool>, tasks: number, concurrency: number): Promise<Measure> {
  const ctx = makeTestContext();
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  const t0 = performance.now();
  const lane = async (): Promise<void> => {
    while (next < tasks) {
      next++;
      const s = performance.now();
      const out = await tool.run({ code: 'result = {"x": 1}' }, ctx);
      latencies.push(performance.now() - s);
      if (out.status !== 'ok') failures++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const seconds = (performance.now() - t0) / 1000;
  if (failures) throw new Error(`${label}: ${failures} task(s) failed`);
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  return { label, tasks, seconds, perSec: tasks / seconds, p50: q(0.5), p95: q(0.95) };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const pooled = createPythonTool({ poolSize: 2 });
  const spawning = createPythonTool({ poolSize: 2, maxTasksPerProcess: 1 });
  try {
    // warm-up: start the pool's interpreters (cold start reported separately)
    const c0 = performance.now();
    await Promise.all([pooled.run({ code: 'result = 0' }, makeTestContext()), pooled.run({ code: 'result = 0' }, makeTestContext())]);
    const coldMs = performance.now() - c0;

    const a = await measure('pooled (pool size 2)', pooled, args.tasks, args.concurrency);
    const b = await measure('spawn-per-task', spawning, args.spawnTasks, args.concurrency);

    const fmt = (m: Measure): string =>
      `${m.label.padEnd(22)} ${String(m.tasks).padStart(5)} tasks  ${m.seconds.toFixed(2).padStart(7)} s  `
      + `${m.perSec.toFixed(1).padStart(8)} tasks/s  p50 ${m.p50.toFixed(1)} ms  p95 ${m.p95.toFixed(1)} ms`;
    console.log(`python tool, task \`result = {"x": 1}\`, concurrency ${args.concurrency}, node ${process.version}`);
    console.log(`cold start of 2 pooled interpreters: ${coldMs.toFixed(0)} ms`);
    console.log(fmt(a));
    console.log(fmt(b));
    console.log(`ratio pooled / spawn-per-task: ${(a.perSec / b.perSec).toFixed(1)}x`);
  } finally {
    await Promise.all([pooled.close(), spawning.close()]);
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
