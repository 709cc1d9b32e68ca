import { loadPlaybook } from '../src/index';
import { parse } from 'yaml';
const n = Number(process.argv[2] ?? 2000);
const head = 'apiVersion: noetl.io/v2\nkind: Playbook\nmetadata: { name: demo }\nworkflow:\n';
const steps = Array.from({ length: n }, (_, i) => `  - { step: ${i === 0 ? 'start' : `s${i}`}, tool: { kind: noop }, next: { arcs: [ { step: ${i + 1 < n ? `s${i + 1}` : 'start'} } ] } }\n`).join('');
const text = head + steps;
for (let k = 0; k < 3; k++) {
  let t = Date.now(); parse(text); const p = Date.now() - t;
  t = Date.now(); const r = loadPlaybook(text); console.log('yaml.parse', p, 'load', Date.now() - t, r.ok);
}
