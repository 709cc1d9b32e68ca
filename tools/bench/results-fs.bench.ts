// Throughput of the fs results store (persist-before-emit writes incl. fsync, verified reads).
// Run: npx tsx tools/bench/results-fs.bench.ts [count] [payloadBytes]
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createFsResultStore } from '@noetl/results';

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 200);
  const size = Number(process.argv[3] ?? 150_000);
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'noetl-bench-results-'));
  const store = createFsResultStore({ root });
  const value = { rows: Array.from({ length: Math.ceil(size / 40) }, (_, i) => ({ id: i, name: `row-${i}`, v: i * 1.5 })) };
  try {
    for (const compression of ['none', 'gzip'] as const) {
      const refs = [];
      let t0 = process.hrtime.bigint();
      for (let i = 0; i < count; i++) refs.push(await store.put({ executionId: 'bench', entity: `${compression}/r${i}` }, value, { compression }));
      const putMs = Number(process.hrtime.bigint() - t0) / 1e6;
      t0 = process.hrtime.bigint();
      for (const r of refs) await store.get(r);
      const getMs = Number(process.hrtime.bigint() - t0) / 1e6;
      const mb = (refs[0].raw_size * count) / 1e6;
      console.log(
        `${compression.padEnd(4)} raw=${refs[0].raw_size}B stored=${refs[0].size}B  put ${(count / (putMs / 1000)).toFixed(0)}/s (${(mb / (putMs / 1000)).toFixed(1)} MB/s)` +
          `  get ${(count / (getMs / 1000)).toFixed(0)}/s (${(mb / (getMs / 1000)).toFixed(1)} MB/s)`,
      );
    }
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
}

void main();
