// temporary profiling harness (removed at the end)
import { Session } from 'node:inspector';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPlaybook } from '@noetl/dsl';
import { createDefaultTools, createEmbeddedRuntime } from '@noetl/embedded';
const [scen, sizeS, repsS, out] = process.argv.slice(2);
const size = Number(sizeS); const reps = Number(repsS);
function chainYaml(n: number): string {
  const lines = ['apiVersion: noetl.io/v2', 'kind: Playbook', 'metadata: { name: bench_chain, path: bench/chain }', 'executor: { spec: { entry_step: step_0 } }', 'workflow:'];
  for (let i = 0; i < n; i++) { lines.push(`  - step: step_${i}`, '    tool: { kind: noop }'); if (i + 1 < n) lines.push(`    next: { arcs: [ { step: step_${i + 1} } ] }`); }
  return lines.join('\n');
}
const loopYaml = (n: number) => ['apiVersion: noetl.io/v2', 'kind: Playbook', 'metadata: { name: bench_loop, path: bench/loop }', `workload: { n: ${n} }`, 'workflow:', '  - step: start', '    loop:', '      in: "{{ range(n) | list }}"', '      iterator: i', '      spec: { mode: parallel, max_in_flight: 64 }', '    tool: { kind: noop }'].join('\n');
const pagYaml = (pages: number) => `apiVersion: noetl.io/v2
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
const y = scen === 'chain' ? chainYaml(size) : scen === 'loop' ? loopYaml(size) : pagYaml(size);
const pb = loadPlaybook(y).playbook!;
const home = mkdtempSync(join(tmpdir(), 'nb-'));
const tools = createDefaultTools({ env: {} });
async function once() {
  const rt = createEmbeddedRuntime({ tools, workers: 4, cwd: home, env: { NOETL_HOME: home } });
  const id = await rt.submit({ playbook: pb }, {});
  const o = await rt.waitForTerminal(id);
  if (o.status !== 'completed') throw new Error(o.status);
  await rt.close();
}
(async () => {
  for (let i = 0; i < 3; i++) await once();
  const s = new Session(); s.connect();
  const post = (m: string, p?: object) => new Promise<any>((res, rej) => s.post(m, p ?? {}, (e, r) => (e ? rej(e) : res(r))));
  const heap = process.env.HEAP === '1';
  if (heap) { await post('HeapProfiler.enable'); await post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }); }
  else { await post('Profiler.enable'); await post('Profiler.setSamplingInterval', { interval: 100 }); await post('Profiler.start'); }
  const t0 = process.hrtime.bigint(); const c0 = process.cpuUsage();
  for (let i = 0; i < reps; i++) await once();
  const wall = Number(process.hrtime.bigint() - t0) / 1e3 / reps; const c = process.cpuUsage(c0);
  const { profile } = heap ? await post('HeapProfiler.stopSampling') : await post('Profiler.stop');
  writeFileSync(out, JSON.stringify(profile));
  console.log(`${scen} ${size}: ${(wall / 1000).toFixed(1)} ms/run, ${(wall / size).toFixed(1)} µs/unit wall, ${((c.user + c.system) / reps / size).toFixed(1)} µs/unit CPU`);
  await tools.close();
  process.exit(0);
})();
