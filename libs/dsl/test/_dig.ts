import { readFileSync } from 'fs';
import { loadPlaybook } from '../src/index';
import { streamingDigest } from '../src/digest';
import { withoutLocs } from '../src/load';
import { digestOf } from '@noetl/common';
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const pb = loadPlaybook(readFileSync('/tmp/mixed.yaml', 'utf8')).playbook!;
const w = withoutLocs(pb);
for (let i = 0; i < 5; i++) {
  let t = cpu(); const a = streamingDigest(w); const x = cpu() - t;
  t = cpu(); const b = digestOf(w); const y = cpu() - t;
  t = cpu(); JSON.stringify(w); const z = cpu() - t;
  console.log({ streaming: x, common: y, stringify: z, same: a === b });
}
