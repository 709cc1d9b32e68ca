import { parseAllDocuments, LineCounter } from 'yaml';
const mode = process.argv[2]; const n = Number(process.argv[3]); const pretty = process.argv[4] === 'p';
let src = '';
if (mode === 'deepflow') src = '['.repeat(n) + ']'.repeat(n);
if (mode === 'deepblock') src = Array.from({length: n}, (_, i) => ' '.repeat(i) + '- ').join('\n') + 'x';
if (mode === 'deepmapflow') src = '{a: '.repeat(n) + '1' + '}'.repeat(n);
const t0 = Date.now();
try {
const docs = parseAllDocuments(src, { version: '1.2', schema: 'core', prettyErrors: pretty, lineCounter: new LineCounter() } as any) as any;
console.log(mode, n, docs[0]?.errors?.map((e: any)=>e.code+ ' '+e.message.slice(0,80)), Date.now()-t0, 'ms');
} catch (e) { console.log('threw', (e as Error).message.slice(0,100)); }
