import { loadPlaybook } from '../src/index';
import { readFileSync } from 'fs';
const text = readFileSync('/tmp/mixed.yaml', 'utf8');
for (let i = 0; i < 6; i++) { const t = performance.now(); loadPlaybook(text); console.log(Math.round(performance.now() - t)); }
