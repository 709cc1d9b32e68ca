import { readFileSync, readdirSync } from 'fs';
import { loadPlaybook } from '../src/index';
const dir = '/work/shared/conformance/cases';
for (const f of readdirSync(dir).filter(f => f.endsWith('.yaml') && !f.endsWith('.expect.yaml')).sort()) {
  const r = loadPlaybook(readFileSync(`${dir}/${f}`, 'utf8'), { file: f });
  const exp = JSON.parse(readFileSync(`${dir}/${f.replace(/\.yaml$/, '.expect.json')}`, 'utf8'));
  console.log(f, r.ok ? 'OK' : 'INVALID', 'expect', exp.expect.status, r.diagnostics.map(d => `${d.severity[0]}:${d.code}@${d.line}:${d.column} ${d.path} ${d.message}`).join(' | '));
}
