import { Parser, Composer, LineCounter } from 'yaml';
for (const [mode, N] of [['flow', 100000], ['block', 3000], ['flow', 20000], ['block', 3000], ['mapflow', 50000]] as const) {
  const src = mode === 'flow' ? '['.repeat(N) + ']'.repeat(N) : mode === 'mapflow' ? '{a: '.repeat(N) + '1' + '}'.repeat(N) : Array.from({length: N}, (_, i) => ' '.repeat(i) + '- ').join('\n') + 'x';
  const t0 = Date.now();
  try {
    const toks = Array.from(new Parser().parse(src));
    console.log(mode, N, toks.length, toks.map(t => t.type), Date.now() - t0, 'ms');
  } catch (e) { console.log('threw', (e as Error).message.slice(0, 80)); }
}
