import { readFileSync } from 'fs';
import { loadPlaybook } from '../src/index';
const text = readFileSync('/tmp/mixed.yaml', 'utf8');
for (let i = 0; i < 6; i++) loadPlaybook(text);
