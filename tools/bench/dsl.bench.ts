// Benchmark for @noetl/dsl: loadPlaybook (parse + normalize + validate + templates + graph +
// digest + freeze) on a generated 2,000-step playbook, next to two baselines on the same text in
// the same run: `yaml.parse` (the `yaml` package, the DSL's positions/diagnostics oracle) and
// js-yaml `load` (the parser of the DSL's fast path). Run: npx tsx tools/bench/dsl.bench.ts [steps]
// Target (issue): well under one second for 2,000 steps.
import { loadPlaybook } from '@noetl/dsl';
import { load as jsYamlLoad } from 'js-yaml';
import { parse } from 'yaml';

const STEPS = Number(process.argv[2] ?? 2000);
const LANE = 50; // steps per lane

/**
 * A wide playbook: `start` fans out (inclusive) to lanes of LANE steps that all join at `end`.
 * Each lane mixes the three tool shapes, task policies (retry/jump/break), parallel and
 * sequential loops, admission rules, step/arc `set`, arc `args`, exclusive branches and a
 * pagination back-edge.
 */
function mixedPlaybook(steps: number): string {
  const body = Math.max(1, steps - 2);
  const lanes = Math.ceil(body / LANE);
  const laneLength = (l: number) => Math.floor(body / lanes) + (l < body % lanes ? 1 : 0);
  const out: string[] = [
    'apiVersion: noetl.io/v2',
    'kind: Playbook',
    'metadata:',
    '  name: bench_mixed',
    '  path: bench/mixed',
    'keychain:',
    '  - { name: api, kind: bearer, token: "{{ workload.token }}" }',
    'executor:',
    '  spec:',
    '    pool: default',
    '    policy: { limits: { loop_max_in_flight: 8 } }',
    'workload:',
    '  api: https://api.example.org',
    '  token: t0k',
    '  items: [1, 2, 3, 4]',
    'workflow:',
    '  - step: start',
    '    next:',
    '      spec: { mode: inclusive }',
    '      arcs:',
  ];
  for (let l = 0; l < lanes; l++) out.push(`        - { step: l${l}_s0, args: { lane: ${l} } }`);
  for (let l = 0; l < lanes; l++) {
    const len = laneLength(l);
    for (let i = 0; i < len; i++) {
      const name = `l${l}_s${i}`;
      const next = i + 1 < len ? `l${l}_s${i + 1}` : 'end';
      out.push(`  - step: ${name}`);
      switch (i % 5) {
        case 0: // shape A http with a retry policy
          out.push(
            '    tool:',
            '      kind: http',
            '      url: "{{ api }}/lanes/{{ args.lane | default(0) }}/items"',
            '      headers: { Authorization: "Bearer {{ keychain.api.token }}" }',
            '      params: { page: "{{ ctx.page | default(1) }}" }',
            '      spec:',
            '        timeout: 10',
            '        policy:',
            '          rules:',
            "            - when: \"{{ output.status == 'error' and output.error.retryable }}\"",
            '              then: { do: retry, attempts: 3, backoff: exponential, delay: 0.5 }',
            "            - when: \"{{ output.status == 'error' }}\"",
            '              then: { do: fail }',
            '            - else:',
            '                then: { do: continue, set: { ctx.last_status: "{{ output.data.status_code }}" } }',
          );
          break;
        case 1: // shape B pipeline with jump/break and task set
          out.push(
            '    tool:',
            '      - name: init',
            '        kind: noop',
            '        spec: { policy: { rules: [ { else: { then: { do: continue, set: { iter.page: 1 } } } } ] } }',
            '      - name: fetch',
            '        kind: python',
            '        input: { page: "{{ iter.page }}", prev: "{{ _prev }}" }',
            '        code: |',
            '          result = {"page": page, "more": page < 3}',
            '        set: { fetched: "{{ output }}" }',
            '      - name: paginate',
            '        kind: noop',
            '        spec:',
            '          policy:',
            '            rules:',
            '              - when: "{{ fetch.more }}"',
            '                then: { do: jump, to: fetch, set: { iter.page: "{{ iter.page + 1 }}" } }',
            '              - else: { then: { do: break } }',
          );
          break;
        case 2: // parallel loop over a literal + shape C
          out.push(
            '    loop:',
            '      in: "{{ workload.items }}"',
            '      iterator: item',
            '      spec: { mode: parallel, max_in_flight: 4 }',
            '    tool:',
            '      - kind: postgres',
            '        auth: "{{ db_auth | default(\'pg\') }}"',
            "        command: \"INSERT INTO t VALUES ({{ iter.item | int }}, '{{ execution_id }}')\"",
            '      - kind: noop',
            '        result: { n: "{{ iter.item * 2 }}" }',
          );
          break;
        case 3: // admission + step set + sequential loop
          out.push(
            '    spec:',
            '      policy:',
            '        admit:',
            '          rules:',
            '            - when: "{{ args.lane | default(0) >= 0 }}"',
            '              then: { allow: true }',
            '            - else: { then: { allow: false } }',
            '    loop: { in: [a, b], iterator: letter }',
            '    tool: { kind: noop, result: "{{ letter }}-{{ iter.index }}" }',
            '    set:',
            `      ctx.${name}_done: true`,
          );
          break;
        default: // routing-only step with an exclusive branch and a pagination back-edge
          break;
      }
      if (i % 5 === 4 && i > 4) {
        out.push(
          '    next:',
          '      spec: { mode: exclusive }',
          '      arcs:',
          `        - { step: l${l}_s${i - 3}, when: "{{ ctx.page | default(1) < 1 }}", set: { ctx.page: "{{ ctx.page | default(1) + 1 }}" } }`,
          `        - { step: ${next}, args: { lane: "{{ args.lane }}" } }`,
        );
      } else {
        out.push('    next:', '      arcs:', `        - { step: ${next}, when: "{{ event.name != 'step.failed' }}" }`);
      }
    }
  }
  out.push('  - step: end', '    tool: { kind: noop, result: { done: true } }');
  return `${out.join('\n')}\n`;
}

/** One long chain closed into a cycle (every edge a back-edge; was the worst case of the O(n^2) Reach lists). */
function chainPlaybook(steps: number): string {
  const out = ['apiVersion: noetl.io/v2', 'kind: Playbook', 'metadata: { name: bench_chain }', 'workflow:'];
  for (let i = 0; i < steps; i++) {
    out.push(`  - step: ${i === 0 ? 'start' : `s${i}`}`, '    tool: { kind: noop }', '    next:', '      arcs:', `        - step: ${i + 1 < steps ? `s${i + 1}` : 'start'}`);
  }
  return `${out.join('\n')}\n`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

interface Sample {
  wall: number;
  cpu: number;
}

function once(fn: () => void): Sample {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

/**
 * Interleaved runs (a, b, c, a, b, c, ...) so that machine load drifts hit all sides alike, after
 * WARMUP untimed rounds (the JIT needs a few runs of 1 MB before the code is optimized).
 */
const WARMUP = 3;
function compare(fns: Array<() => void>, runs: number): Sample[] {
  for (let w = 0; w < WARMUP; w++) for (const f of fns) f();
  const samples: Sample[][] = fns.map(() => []);
  for (let i = 0; i < runs; i++) fns.forEach((f, j) => samples[j].push(once(f)));
  const med = (xs: Sample[]): Sample => ({ wall: median(xs.map((x) => x.wall)), cpu: median(xs.map((x) => x.cpu)) });
  return samples.map(med);
}

function bench(title: string, text: string, runs = 7): void {
  // the first call in this process: for the first benchmark it includes the JIT's cold start
  const first = once(() => loadPlaybook(text));
  const r = loadPlaybook(text);
  if (!r.ok || !r.playbook) {
    throw new Error(`bench playbook invalid:\n${r.diagnostics.slice(0, 5).map((d) => `${d.code}@${d.line} ${d.message}`).join('\n')}`);
  }
  const pb = r.playbook;
  const backEdges = pb.graph.edges.filter((e) => e.back_edge).length;
  const [y, j, l] = compare([() => parse(text), () => jsYamlLoad(text), () => loadPlaybook(text)], runs);
  const ms = (x: number) => `${x.toFixed(1).padStart(8)} ms`;
  const ratio = (a: Sample, b: Sample) => `${(a.wall / b.wall).toFixed(2)}x wall, ${(a.cpu / b.cpu).toFixed(2)}x cpu`;
  console.log(`\n${title}`);
  console.log(`  ${pb.steps.length} steps, ${pb.steps.reduce((n, s) => n + s.tasks.length, 0)} tasks, ${pb.graph.edges.length} edges, ` +
    `${pb.graph.joins.length} joins, ${backEdges} back-edges, ${(text.length / 1024).toFixed(0)} KiB, ${r.diagnostics.length} warnings`);
  console.log(`  yaml.parse (baseline)    median wall ${ms(y.wall)}   cpu ${ms(y.cpu)}`);
  console.log(`  js-yaml load (baseline)  median wall ${ms(j.wall)}   cpu ${ms(j.cpu)}`);
  console.log(`  loadPlaybook             median wall ${ms(l.wall)}   cpu ${ms(l.cpu)}   ${l.wall < 1000 ? 'OK (< 1 s)' : 'SLOW (>= 1 s)'}`);
  console.log(`    ratio load/yaml.parse = ${ratio(l, y)};  load/js-yaml load = ${ratio(l, j)}`);
  console.log(`  loadPlaybook, first call in this process: wall ${ms(first.wall)}   cpu ${ms(first.cpu)}`);
}

bench(`mixed playbook, ${STEPS} steps (median of 7 interleaved runs after ${WARMUP} warm-up rounds)`, mixedPlaybook(STEPS));
bench(`worst case: ${STEPS}-step chain closed into a cycle (median of 5 interleaved runs after ${WARMUP} warm-up rounds)`, chainPlaybook(STEPS), 5);
