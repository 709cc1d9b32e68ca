// The end-of-task marks on the python interpreter's raw output pipes (python-worker.py
// `_write_fences`): FencedStream strips them and reports their task ids, whatever the chunking.
import fc from 'fast-check';
import { FencedStream } from './python-pool';

const mark = (id: string | number): Buffer => Buffer.from(`\u0000noetl-fence:${id}\u0000`, 'latin1');

function run(chunks: Buffer[]): { out: Buffer; fences: string[] } {
  const parts: Buffer[] = [];
  const fences: string[] = [];
  const s = new FencedStream((b) => parts.push(Buffer.from(b)), (id) => fences.push(id));
  for (const c of chunks) s.push(c);
  s.end();
  return { out: Buffer.concat(parts), fences };
}

function split(buf: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of at) {
    out.push(buf.subarray(prev, c));
    prev = c;
  }
  out.push(buf.subarray(prev));
  return out;
}

describe('FencedStream', () => {
  it('strips a mark and reports its id, in one chunk', () => {
    expect(run([Buffer.concat([Buffer.from('a\nb'), mark(7), Buffer.from('c')])])).toEqual({ out: Buffer.from('a\nbc'), fences: ['7'] });
  });

  it('holds a mark split at every position until it is complete', () => {
    const whole = Buffer.concat([Buffer.from('before'), mark(12), Buffer.from('after')]);
    for (let i = 0; i <= whole.length; i++) {
      expect(run([whole.subarray(0, i), whole.subarray(i)])).toEqual({ out: Buffer.from('beforeafter'), fences: ['12'] });
    }
  });

  it('holds back a possible mark at the end of a chunk, and outputs it when the pipe ends', () => {
    const parts: Buffer[] = [];
    const s = new FencedStream((b) => parts.push(Buffer.from(b)), () => undefined);
    s.push(Buffer.from('data\u0000noetl'));
    expect(Buffer.concat(parts).toString()).toBe('data');
    s.end();
    expect(Buffer.concat(parts).toString()).toBe('data\u0000noetl');
  });

  it('keeps NUL bytes and lookalikes that are not marks', () => {
    const data = Buffer.concat([Buffer.from('x\u0000y\u0000noetl-fenc'), Buffer.from('\u0000noetl-fence:'), Buffer.alloc(40, 97), Buffer.from('\u0000z')]);
    expect(run([data])).toEqual({ out: data, fences: [] });
  });

  it('property: any data with marks, any chunking -> the data without marks, the ids in order', () => {
    const prefix = Buffer.from('\u0000noetl-fence:', 'latin1');
    const piece = fc.oneof(
      // task output: any bytes but NUL, or a NUL-led lookalike cut short (then a byte that ends it)
      fc.uint8Array({ maxLength: 40, min: 1 }).map((a) => ({ data: Buffer.from(a), id: null as string | null })),
      fc.integer({ min: 1, max: prefix.length - 1 }).map((n) => ({ data: Buffer.concat([prefix.subarray(0, n), Buffer.from('x')]), id: null as string | null })),
      fc.nat(100000).map((n) => ({ data: mark(n), id: String(n) as string | null })),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 8 }), (pieces, cuts) => {
        const r = run(split(Buffer.concat(pieces.map((p) => p.data)), cuts));
        expect(r.fences).toEqual(pieces.filter((p) => p.id !== null).map((p) => p.id));
        expect(r.out.equals(Buffer.concat(pieces.filter((p) => p.id === null).map((p) => p.data)))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
