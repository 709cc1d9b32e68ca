import { parseAllDocuments, LineCounter } from 'yaml';
function run(src: string, pretty: boolean) {
  const docs = parseAllDocuments(src, { version: '1.2', schema: 'core', prettyErrors: pretty, lineCounter: new LineCounter() } as any) as any;
  console.log(docs[0]?.errors?.map((e: any)=>e.code));
}
const order = process.argv.slice(2);
for (const o of order) {
  const [mode, n, p] = o.split(':');
  const N = Number(n);
  const src = mode === 'flow' ? '['.repeat(N) + ']'.repeat(N) : Array.from({length: N}, (_, i) => ' '.repeat(i) + '- ').join('\n') + 'x';
  run(src, p === 'p');
}
