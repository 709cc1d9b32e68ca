import { parseAllDocuments } from 'yaml';
for (const N of [5000, 20000, 40000]) {
  const src = Array.from({length: N}, (_, i) => `k${i}: ${i}`).join('\n');
  let t0 = Date.now();
  parseAllDocuments(src, { version: '1.2', schema: 'core', uniqueKeys: true } as any);
  const a = Date.now() - t0; t0 = Date.now();
  parseAllDocuments(src, { version: '1.2', schema: 'core', uniqueKeys: false } as any);
  console.log(N, src.length, 'unique', a, 'ms; nounique', Date.now() - t0, 'ms');
}
