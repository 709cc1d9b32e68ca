import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPlaybook } from '@noetl/dsl';
import { createDefaultTools, createEmbeddedRuntime } from '@noetl/embedded';
const loopYaml = (n: number) => ['apiVersion: noetl.io/v2', 'kind: Playbook', 'metadata: { name: bench_loop, path: bench/loop }', `workload: { n: ${n} }`, 'workflow:', '  - step: start', '    loop:', '      in: "{{ range(n) | list }}"', '      iterator: i', '      spec: { mode: parallel, max_in_flight: 64 }', '    tool: { kind: noop }'].join('\n');
const pb = loadPlaybook(loopYaml(2000)).playbook!;
const home = mkdtempSync(join(tmpdir(), 'nb-'));
const tools = createDefaultTools({ env: {} });
const gc = (globalThis as any).gc as () => void;
(async () => {
  let rt: any = createEmbeddedRuntime({ tools, workers: 4, cwd: home, env: { NOETL_HOME: home } });
  const id = await rt.submit({ playbook: pb }, {});
  await rt.waitForTerminal(id);
  const wEvents = new WeakRef(rt.treeEvents(id) as object);
  const wFirst = new WeakRef(rt.treeEvents(id)[5] as object);
  const wRt = new WeakRef(rt);
  await rt.close();
  rt = null;
  if (process.env.WAIT) await new Promise((r) => setTimeout(r, Number(process.env.WAIT)));
  gc(); gc();
  console.log('rt alive', !!wRt.deref(), 'events alive', !!wEvents.deref(), 'event alive', !!wFirst.deref());
  if (process.argv[2]) { require('v8').writeHeapSnapshot(process.argv[2]); }
  await tools.close();
})();
