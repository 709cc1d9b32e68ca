import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NoetlEvent } from '@noetl/events';
import { EventLog, IdIndex, hashId, idHashes, parseJsonl, readJsonlFile } from './log';
import { TimerService, type TimerEntry } from './timers';

function ev(id: string, execution = 'E', root = execution, type = 'step.done'): NoetlEvent {
  const payload = type === 'step.done' ? { ctx_patch: [], terminated_by: 'end', task_visits: 1, duration_ms: 0 } : {};
  return {
    v: 1,
    event_id: id,
    event_type: type,
    ts: '2026-01-01T00:00:00.000Z',
    execution_id: execution,
    root_execution_id: root,
    source: 'worker',
    producer_id: 'w',
    status: 'ok',
    payload,
  } as unknown as NoetlEvent;
}

describe('EventLog', () => {
  it('assigns seq 1.. in append order per execution tree', () => {
    const log = new EventLog();
    expect(log.append(ev('a'))?.seq).toBe(1);
    expect(log.append(ev('b'))?.seq).toBe(2);
    expect(log.append(ev('x', 'F'))?.seq).toBe(1);
    expect(log.events('E').map((e) => e.event_id)).toEqual(['a', 'b']);
    expect(log.length('E')).toBe(2);
  });

  it('drops a second event with the same event_id (T10.1)', () => {
    const log = new EventLog();
    log.append(ev('a'));
    expect(log.append(ev('a'))).toBeNull();
    expect(log.append({ ...ev('a'), payload: { other: true } } as unknown as NoetlEvent)).toBeNull();
    expect(log.events('E')).toHaveLength(1);
    expect(log.has('E', 'a')).toBe(true);
    expect(log.has('E', 'zz')).toBe(false);
  });

  it('a child execution shares its root tree log (one total order) but has its own view', () => {
    const log = new EventLog();
    log.append(ev('p1', 'P'));
    log.append(ev('c1', 'C', 'P'));
    log.append(ev('p2', 'P'));
    expect(log.tree('P').map((e) => [e.event_id, e.seq])).toEqual([['p1', 1], ['c1', 2], ['p2', 3]]);
    expect(log.events('P').map((e) => e.event_id)).toEqual(['p1', 'p2']);
    expect(log.events('C').map((e) => e.seq)).toEqual([2]);
  });

  it('notifies subscribers after storing, never for duplicates, and survives throwing ones', () => {
    const log = new EventLog();
    const seen: string[] = [];
    log.subscribe(() => {
      throw new Error('x');
    });
    const off = log.subscribe((e) => seen.push(`${e.event_id}@${e.seq}`));
    log.append(ev('a'));
    log.append(ev('a'));
    off();
    log.append(ev('b'));
    expect(seen).toEqual(['a@1']);
  });

  it('round-trips through JSON lines', () => {
    const log = new EventLog();
    log.append(ev('a'));
    log.append(ev('b'));
    const text = log.toJsonl('E');
    expect(text.split('\n')).toHaveLength(3);
    const back = parseJsonl(`${text}\n\n`);
    expect(back.map((e) => [e.event_id, e.seq])).toEqual([['a', 1], ['b', 2]]);
  });

  it('parseJsonl validates each line at the boundary and names the bad line', () => {
    const good = JSON.stringify(ev('a'));
    expect(() => parseJsonl(`${good}\n{oops`)).toThrow(/line 2/);
    expect(() => parseJsonl('[1]')).toThrow(/line 1: event is not an object/);
    expect(() => parseJsonl(`${good}\n${JSON.stringify({ ...ev('b'), payload: {} })}`)).toThrow(/line 2: step.done: payload field 'ctx_patch' is required/);
    expect(parseJsonl(good)[0].seq).toBe(1);
  });

  it('parseJsonl drops a cut-short last line only when asked to, and reports it', () => {
    const good = JSON.stringify(ev('a'));
    const cut: number[] = [];
    expect(parseJsonl(`${good}\n{"v":1,"eve`, { onTruncatedTail: (l) => cut.push(l) }).map((e) => e.event_id)).toEqual(['a']);
    expect(cut).toEqual([2]);
    // a bad line that ends with a newline is not a cut-short tail: still an error
    expect(() => parseJsonl(`${good}\n{oops\n`, { onTruncatedTail: () => undefined })).toThrow(/line 2/);
    expect(() => parseJsonl(`{oops\n${good}`, { onTruncatedTail: () => undefined })).toThrow(/line 1/);
  });

  it('readJsonlFile reads a file in chunks exactly as parseJsonl reads its text (lines and UTF-8 across chunk edges, CRLF, a cut-short tail)', () => {
    const d = mkdtempSync(join(tmpdir(), 'noetl-jsonl-'));
    try {
      // ~3 MiB of events with multi-byte text, so lines and characters straddle the 1 MiB chunks
      const lines: string[] = [];
      for (let i = 0; i < 6000; i++) {
        const e = ev(`e${i}`) as NoetlEvent & { payload: Record<string, unknown> };
        lines.push(JSON.stringify({ ...e, payload: { ...e.payload, note: `été ✓ ${'ü'.repeat(i % 300)}` }, seq: i + 1 }));
      }
      const text = `${lines.slice(0, 3000).join('\n')}\r\n${lines.slice(3000).join('\n')}\n{"v":1,"cut`;
      const f = join(d, 'log.jsonl');
      writeFileSync(f, text);
      const cuts: number[] = [];
      const fromFile = readJsonlFile(f, { onTruncatedTail: (l) => cuts.push(l) });
      expect(fromFile).toEqual(parseJsonl(text, { onTruncatedTail: () => undefined }));
      expect(fromFile).toHaveLength(6000);
      expect(cuts).toEqual([6001]);
      expect(() => readJsonlFile(f)).toThrow(/line 6001/);
      expect(() => readJsonlFile(join(d, 'missing.jsonl'))).toThrow(/ENOENT/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('parseJsonl ignores well-formed events of unknown types (T6.1)', () => {
    const unknown = JSON.stringify({ ...ev('u'), event_type: 'x.vendor.thing', payload: {} });
    expect(parseJsonl(`${unknown}\n${JSON.stringify(ev('a'))}`).map((e) => e.event_id)).toEqual(['a']);
  });
});

describe('EventLog memory bound (spill file)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'noetl-log-spec-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** 50 events of E (ids E/w/0..49) with a child C in between, in a log that keeps 8 in memory */
  function spilledLog(spillDir?: string): EventLog {
    const log = new EventLog({ memoryEvents: 8, ...(spillDir ? { spillDir } : {}) });
    for (let i = 0; i < 50; i++) {
      log.append(ev(`E/w/${i}`));
      if (i % 10 === 5) log.append(ev(`C/w/${i}`, 'C', 'E'));
    }
    return log;
  }

  it('keeps a bounded tail in memory and reads the whole tree back in log order', () => {
    const log = spilledLog();
    expect(log.length('E')).toBe(55);
    expect(log.spilled('E')).toBeGreaterThanOrEqual(55 - 8);
    const tree = log.tree('E');
    expect(tree.map((e) => e.seq)).toEqual(Array.from({ length: 55 }, (_, i) => i + 1));
    expect(tree.filter((e) => e.execution_id === 'E').map((e) => e.event_id)).toEqual(Array.from({ length: 50 }, (_, i) => `E/w/${i}`));
    expect(log.events('C').map((e) => e.event_id)).toEqual(['C/w/5', 'C/w/15', 'C/w/25', 'C/w/35', 'C/w/45']);
    expect(log.events('E')).toHaveLength(50);
    expect(parseJsonl(log.toJsonl('E'))).toEqual(tree);
    log.close();
  });

  it('dedupe stays exact for spilled events (T10.1)', () => {
    const log = spilledLog();
    expect(log.has('E', 'E/w/0')).toBe(true);
    expect(log.has('E', 'C/w/5')).toBe(true);
    expect(log.has('E', 'E/w/50')).toBe(false);
    expect(log.append(ev('E/w/0'))).toBeNull();
    expect(log.append({ ...ev('E/w/3'), payload: { other: true } } as unknown as NoetlEvent)).toBeNull();
    expect(log.append(ev('E/w/50'))?.seq).toBe(56);
    expect(log.length('E')).toBe(56);
    log.close();
  });

  it('close() removes the spill files; events in memory stay readable', () => {
    const own = join(dir, 'spill');
    const log = spilledLog(own);
    expect(readdirSync(own).length).toBeGreaterThan(0);
    log.close();
    expect(readdirSync(own)).toEqual([]);
    expect(() => log.tree('E')).toThrow(/closed/);
    const mem = new EventLog({ memoryEvents: 8 });
    mem.append(ev('a'));
    mem.close();
    expect(mem.tree('E').map((e) => e.event_id)).toEqual(['a']);
  });

  it('a log that made its own spill directory removes it on close', () => {
    const log = spilledLog();
    const file = (log as unknown as { spillDir: string }).spillDir;
    expect(existsSync(file)).toBe(true);
    log.close();
    expect(existsSync(file)).toBe(false);
  });

  it('large events spill by estimated size before the count bound is reached', () => {
    const log = new EventLog({ memoryEvents: 1000, memoryBytes: 4000 });
    const big = (id: string) => ({ ...ev(id), payload: { ctx_patch: [], terminated_by: 'end', task_visits: 1, duration_ms: 0, blob: 'x'.repeat(500) } }) as unknown as NoetlEvent;
    for (let i = 0; i < 40; i++) log.append(big(`b${i}`));
    expect(log.spilled('E')).toBeGreaterThan(20);
    expect(log.length('E') - log.spilled('E')).toBeLessThan(10);
    expect(log.tree('E').map((e) => e.event_id)).toEqual(Array.from({ length: 40 }, (_, i) => `b${i}`));
    expect(log.append(big('b7'))).toBeNull();
    log.close();
  });

  it('adopt stores the handed-over object with seq; a frozen one is copied', () => {
    const log = new EventLog();
    const a = ev('a');
    expect(log.adopt(a)).toBe(a);
    expect(a).toMatchObject({ seq: 1 });
    const b = Object.freeze(ev('b'));
    const logged = log.adopt(b);
    expect(logged).not.toBe(b);
    expect(logged?.seq).toBe(2);
    expect(log.adopt(ev('a'))).toBeNull();
  });
});

/** ids as the engine derives them (libs/events/src/ids.ts) for a parallel loop: 6 per iteration, differing in a few digits */
function engineIds(count: number, exec = '01M8HZ1H18DKHFX5KBRGHTRGSA'): string[] {
  const out: string[] = [];
  for (let i = 0, seq = 70; out.length < count; i++) {
    for (let k = 1; k <= 5; k++) out.push(`${exec}/r/1.0/i${i}/c1/e1/${k}`);
    out.push(`${exec}/s/${(seq += 6)}.0`);
  }
  return out.slice(0, count);
}

/** the first two distinct ids `prefix<i>` whose first hashes are equal (a birthday search: ~80k ids) */
function firstHashCollision(prefix: string): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; ; i++) {
    const id = `${prefix}${i}`;
    const h = hashId(id);
    const other = seen.get(h);
    if (other !== undefined) return [other, id];
    seen.set(h, id);
  }
}

describe('EventLog dedupe index (IdIndex)', () => {
  it('hashes: two independent 32-bit hashes, each colliding like a random one on engine ids', () => {
    const ids = engineIds(1_000_000);
    const n = ids.length;
    const h1 = new Uint32Array(n);
    const h2 = new Uint32Array(n);
    for (let i = 0; i < n; i++) [h1[i], h2[i]] = idHashes(ids[i]);
    const collidingPairs = (h: Uint32Array): { pairs: number; values: Set<number> } => {
      const sorted = h.slice().sort();
      const values = new Set<number>();
      let pairs = 0;
      for (let i = 1, run = 1; i <= n; i++) {
        if (i < n && sorted[i] === sorted[i - 1]) {
          run++;
          continue;
        }
        if (run > 1) values.add(sorted[i - 1] | 0);
        pairs += (run * (run - 1)) / 2;
        run = 1;
      }
      return { pairs, values };
    };
    const expected = (n * (n - 1)) / 2 / 2 ** 32; // ~116 for a random 32-bit hash
    const first = collidingPairs(h1);
    const second = collidingPairs(h2);
    expect(first.pairs).toBeGreaterThan(expected / 2);
    expect(first.pairs).toBeLessThan(expected * 2);
    expect(second.pairs).toBeGreaterThan(expected / 2);
    expect(second.pairs).toBeLessThan(expected * 2);
    // no two ids agree on both hashes: a confirmation against the log is only for a real duplicate
    const byFirst = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      if (!first.values.has(h1[i] | 0)) continue;
      const same = byFirst.get(h1[i] | 0) ?? [];
      for (const j of same) if (h2[j] === h2[i]) throw new Error(`${ids[i]} and ${ids[j]} agree on both hashes`);
      same.push(i);
      byFirst.set(h1[i] | 0, same);
    }
    expect([...byFirst.values()].reduce((a, v) => a + (v.length * (v.length - 1)) / 2, 0)).toBe(first.pairs);
  });

  it('hashes every code unit and the length (non-strings by their string form)', () => {
    const base = idHashes('E/r/1.0/i1206/c1/e1/3');
    expect(idHashes('E/r/1.0/i1206/c1/e1/3')).toEqual(base);
    for (const other of ['E/r/1.0/i1604/c1/e1/3', 'E/r/1.0/i1206/c1/e1/4', 'E/r/1.0/i1206/c1/e1/3 ', 'e/r/1.0/i1206/c1/e1/3', 'E/r/1.0/i1206/c1/e1/\u0133']) {
      const h = idHashes(other);
      expect(h[0]).not.toBe(base[0]);
      expect(h[1]).not.toBe(base[1]);
    }
    expect(idHashes(42)).toEqual(idHashes('42'));
  });

  it('is exact when hashes collide: a match is confirmed against the logged id', () => {
    const logged: unknown[] = [];
    let confirms = 0;
    const idAt = (pos: number): unknown => {
      confirms++;
      return logged[pos];
    };
    // every id has the same first hash (second hashes differ): no confirmation needed
    const sameFirst = new IdIndex(idAt, (id) => (hashId(id), 7));
    // every id has the same two hashes: each probe confirms against the logged ids
    const sameBoth = new IdIndex(idAt, () => (hashId('x'), 7));
    for (const index of [sameFirst, sameBoth]) {
      logged.length = 0;
      confirms = 0;
      for (let i = 0; i < 300; i++) {
        expect(index.add(`id${i}`, logged.length)).toBe(true);
        logged.push(`id${i}`);
      }
      expect(index.add('id17', logged.length)).toBe(false);
      expect(index.add('id299', logged.length)).toBe(false);
      expect(index.find('id123')).toBe(123);
      expect(index.find('id300')).toBe(-1);
      expect(index.add(NaN, logged.length)).toBe(true);
      logged.push(NaN);
      expect(index.find(NaN)).toBe(300);
      if (index === sameFirst) expect(confirms).toBe(4); // id17, id299, id123, NaN: each found once
      else expect(confirms).toBeGreaterThan(300 * 150);
    }
  });

  it('keeps positions past the first hash page (pages of 16,384 positions)', () => {
    const ids = engineIds(40_000, 'P');
    const index = new IdIndex((pos) => ids[pos]);
    expect(ids.filter((id, pos) => !index.add(id, pos))).toEqual([]);
    for (const pos of [0, 16_383, 16_384, 32_768, 39_999]) {
      expect(index.find(ids[pos])).toBe(pos);
      expect(index.add(ids[pos], ids.length)).toBe(false);
    }
    expect(index.find('P/r/1.0/i99999/c1/e1/1')).toBe(-1);
  });

  it('stays exact across spilled chunks: real duplicates of spilled events are dropped, first-hash collisions kept', () => {
    const [a, b] = firstHashCollision('E/r/1.0/i');
    expect(a).not.toBe(b);
    expect(idHashes(a)[0]).toBe(idHashes(b)[0]);
    expect(idHashes(a)[1]).not.toBe(idHashes(b)[1]);
    const log = new EventLog({ memoryEvents: 64 });
    expect(log.append(ev(a))?.seq).toBe(1);
    const ids = engineIds(3000);
    for (const id of ids) log.append(ev(id));
    expect(log.spilled('E')).toBeGreaterThan(2900);
    // b's first hash matches a's (spilled): still a new event
    expect(log.append(ev(b))?.seq).toBe(3002);
    expect(log.append(ev(a))).toBeNull();
    expect(log.append(ev(b))).toBeNull();
    // duplicates of events of different spilled chunks, alternating (the last chunk read is cached)
    for (const pos of [0, 2500, 1, 2501, 1200, 0, 2999]) {
      expect(log.has('E', ids[pos])).toBe(true);
      expect(log.append({ ...ev(ids[pos]), payload: { other: true } } as unknown as NoetlEvent)).toBeNull();
    }
    expect(log.has('E', `${ids[0]}0`)).toBe(false);
    expect(log.length('E')).toBe(3002);
    const tree = log.tree('E');
    expect(tree.map((e) => e.event_id)).toEqual([a, ...ids, b]);
    expect(tree.map((e) => e.seq)).toEqual(Array.from({ length: 3002 }, (_, i) => i + 1));
    log.close();
    // the cached chunk went with the file: a spilled event cannot be confirmed any more
    expect(() => log.has('E', ids[0])).toThrow(/closed/);
  });
});

describe('TimerService', () => {
  it('fires at expiry, in time order', async () => {
    const fired: string[] = [];
    const t = new TimerService<string>((e) => fired.push(e.id));
    const now = Date.now();
    t.set('late', now + 60, 'x');
    t.set('early', new Date(now + 20).toISOString(), 'y');
    t.set('past', now - 1000, 'z');
    await new Promise((r) => setTimeout(r, 100));
    expect(fired).toEqual(['past', 'early', 'late']);
    expect(t.size).toBe(0);
    t.close();
  });

  it('is idempotent by id and can be cleared', async () => {
    const fired: Array<TimerEntry<number>> = [];
    const t = new TimerService<number>((e) => fired.push(e));
    const now = Date.now();
    expect(t.set('a', now + 20, 1)).toBe(true);
    expect(t.set('a', now + 5, 2)).toBe(false);
    t.set('b', now + 20, 3);
    t.set('c', now + 20, 4);
    expect(t.clear('b')).toBe(true);
    expect(t.clear('b')).toBe(false);
    expect(t.clearWhere((e) => e.payload === 4)).toBe(1);
    await new Promise((r) => setTimeout(r, 60));
    expect(fired.map((e) => [e.id, e.payload])).toEqual([['a', 1]]);
    t.close();
  });

  it('rejects an invalid expiry and stops firing after close', async () => {
    const fired: string[] = [];
    const t = new TimerService<null>((e) => fired.push(e.id));
    expect(() => t.set('x', 'not a date', null)).toThrow(/invalid expiry/);
    t.set('y', Date.now() + 10, null);
    t.close();
    await new Promise((r) => setTimeout(r, 30));
    expect(fired).toEqual([]);
    expect(t.set('z', Date.now(), null)).toBe(false);
  });

  it('uses the injected clock to decide expiry', async () => {
    let now = 1_000;
    const fired: string[] = [];
    const t = new TimerService<null>((e) => fired.push(e.id), () => now);
    t.set('x', 1_000, null);
    now = 5_000;
    await new Promise((r) => setTimeout(r, 10));
    expect(fired).toEqual(['x']);
    t.close();
  });
});
