import { readFileSync } from 'fs';
import { loadPlaybook } from '../src/index';
const r = loadPlaybook(readFileSync(process.argv[2], 'utf8'), { compat: process.argv[3] === 'compat' });
console.log(JSON.stringify(r, null, 1));
