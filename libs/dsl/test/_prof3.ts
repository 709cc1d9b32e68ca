import { readFileSync } from 'fs';
import { parse } from 'yaml';
import { loadPlaybook } from '../src/index';
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const text = readFileSync('/tmp/mixed.yaml', 'utf8');
for (let i = 0; i < 6; i++) {
  let t = cpu(); let w = performance.now(); parse(text); const a = [cpu() - t, performance.now() - w];
  t = cpu(); w = performance.now(); loadPlaybook(text); const b = [cpu() - t, performance.now() - w];
  console.log('yaml cpu/wall', a.map(Math.round), 'load cpu/wall', b.map(Math.round));
}
