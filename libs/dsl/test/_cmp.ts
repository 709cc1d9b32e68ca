import { readFileSync } from 'fs';
import { parse } from 'yaml';
import { parseYamlSource } from '../src/yaml-source';
import { loadPlaybook } from '../src/index';
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const text = readFileSync('/tmp/mixed.yaml', 'utf8');
const acc: Record<string, number[]> = { yaml: [], ours: [], load: [] };
for (let i = 0; i < 8; i++) {
  for (const [k, f] of [['yaml', () => parse(text)], ['ours', () => parseYamlSource(text)], ['load', () => loadPlaybook(text)]] as const) {
    global.gc?.(); const t = cpu(); f(); acc[k].push(cpu() - t);
  }
}
for (const [k, v] of Object.entries(acc)) { v.sort((a, b) => a - b); console.log(k, Math.round(v[Math.floor(v.length / 2)])); }
