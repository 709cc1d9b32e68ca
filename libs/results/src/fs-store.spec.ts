import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { sha256Hex, type Manifest, type ResultRef } from '@noetl/common';
import {
  createFsResultStore, externalizeIfLarge, hydrate, ResultStoreError, selectValues, parseResultPath, makePreview,
  MANIFEST_CONTENT_TYPE, type FsResultStore,
} from './index';

let root: string;
let store: FsResultStore;

beforeEach(async () => {
  root = await fsp.mkdtemp(path.join(os.tmpdir(), 'noetl-results-'));
  store = createFsResultStore({ root });
});
afterEach(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

async function expectStoreError(p: Promise<unknown>, kind: string, code?: string): Promise<void> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(ResultStoreError);
  expect((err as ResultStoreError).kind).toBe(kind);
  if (code) expect((err as ResultStoreError).code).toBe(code);
}

describe('fs result store', () => {
  it('putSync stores durably before returning, with the same ref shape as put, readable by get and getByUri', async () => {
    const value = { rows: Array.from({ length: 50 }, (_, i) => ({ i })) };
    const ref = store.putSync({ executionId: 'E1', entity: 'ctx/s_3.0/0' }, value);
    const async = await store.put({ executionId: 'E1', entity: 'ctx/s_3.0/1' }, value);
    const shape = (r: ResultRef) => ({ ...r, uri: undefined, key: undefined, path: undefined, created_at: undefined });
    expect(shape(ref)).toEqual(shape(async));
    expect(ref.path).toBe(path.join(root, 'exec/E1/ctx/s_3.0/0.json'));
    expect(`sha256:${sha256Hex(await fsp.readFile(ref.path as string))}`).toBe(ref.checksum);
    expect(await store.get(ref)).toEqual(value);
    expect(await store.getByUri(ref.uri)).toEqual(value);
    expect((await fsp.readdir(path.dirname(ref.path as string))).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('round-trips a value with the documented layout and ref fields', async () => {
    const value = { b: 1, a: [1, 2, { z: 'é' }], s: 'x'.repeat(2000) };
    const ref = await store.put({ executionId: 'ex1', entity: 'r1.0/fetch/v1-a1' }, value, { extracted: { n: 3 } });
    expect(ref).toMatchObject({
      kind: 'result_ref', uri: 'noetl://ex1/r1.0/fetch/v1-a1', store: 'fs', key: 'exec/ex1/r1.0/fetch/v1-a1.json',
      content_type: 'application/json', encoding: 'json', compression: 'none', scope: 'execution', expires_at: null,
      extracted: { n: 3 }, schema: { type: 'object', top_keys: ['b', 'a', 's'] },
    });
    expect(ref.path).toBe(path.join(root, 'exec/ex1/r1.0/fetch/v1-a1.json'));
    const bytes = await fsp.readFile(ref.path!);
    expect(bytes.toString('utf8')).toBe(JSON.stringify(value));
    expect(ref.size).toBe(bytes.length);
    expect(ref.raw_size).toBe(bytes.length);
    expect(ref.checksum).toBe(`sha256:${sha256Hex(bytes)}`);
    expect(ref.preview).toEqual({ bytes: 1024, truncated: true, text: Buffer.from(JSON.stringify(value)).subarray(0, 1024).toString() });
    expect(await store.get(ref)).toEqual(value);
    expect(Object.keys((await store.get(ref)) as object)).toEqual(['b', 'a', 's']);
    expect(await store.getByUri(ref.uri)).toEqual(value);
    // no temp files left behind
    expect(await fsp.readdir(path.dirname(ref.path!))).toEqual(['v1-a1.json']);
  });

  it('stores gzip-compressed payloads and checksums the stored bytes', async () => {
    const value = { rows: Array.from({ length: 500 }, (_, i) => ({ id: i, name: `n${i}` })), columns: ['id', 'name'], row_count: 500 };
    const ref = await store.put({ executionId: 'ex1', entity: 'r2/q/v1-a1' }, value, { compression: 'gzip', previewMaxBytes: 16 });
    expect(ref.key).toBe('exec/ex1/r2/q/v1-a1.json.gz');
    expect(ref.compression).toBe('gzip');
    expect(ref.size).toBeLessThan(ref.raw_size);
    const bytes = await fsp.readFile(ref.path!);
    expect(ref.checksum).toBe(`sha256:${sha256Hex(bytes)}`);
    expect(JSON.parse(zlib.gunzipSync(bytes).toString())).toEqual(value);
    expect(ref.schema).toEqual({ type: 'table', top_keys: ['rows', 'columns', 'row_count'], columns: [{ name: 'id' }, { name: 'name' }], row_count: 500 });
    expect(ref.preview).toEqual({ bytes: 16, truncated: true, text: JSON.stringify(value).slice(0, 16) });
    expect(await store.get(ref)).toEqual(value);
  });

  it('schema hints for arrays and scalars; small previews are not truncated', async () => {
    const a = await store.put({ executionId: 'ex1', entity: 'a' }, [1, 2, 3]);
    expect(a.schema).toEqual({ type: 'array', row_count: 3 });
    expect(a.preview).toEqual({ bytes: 7, truncated: false, text: '[1,2,3]' });
    const s = await store.put({ executionId: 'ex1', entity: 's' }, 'hello', { contentType: 'application/json' });
    expect(s.schema).toEqual({ type: 'scalar' });
    const n = await store.put({ executionId: 'ex1', entity: 'n', scope: 'permanent' }, undefined);
    expect(n.scope).toBe('permanent');
    expect(await store.get(n)).toBeNull();
  });

  it('fails with reference_not_available on checksum mismatch', async () => {
    const ref = await store.put({ executionId: 'ex1', entity: 'x' }, { a: 1 });
    await fsp.writeFile(ref.path!, JSON.stringify({ a: 2 }));
    await expectStoreError(store.get(ref), 'reference_not_available', 'RESULT_CHECKSUM_MISMATCH');
    await expectStoreError(store.getByUri(ref.uri), 'reference_not_available', 'RESULT_CHECKSUM_MISMATCH');
  });

  it('fails with reference_not_available when the file is missing or the URI is unknown', async () => {
    const ref = await store.put({ executionId: 'ex1', entity: 'gone' }, { a: 1 });
    await fsp.rm(ref.path!);
    await expectStoreError(store.get(ref), 'reference_not_available', 'RESULT_MISSING');
    await expectStoreError(store.getByUri('noetl://ex1/never'), 'reference_not_available', 'RESULT_MISSING');
    await expectStoreError(store.getByUri('http://nope'), 'reference_not_available', 'RESULT_REF_INVALID');
    await expectStoreError(store.getByUri('noetl://ex1/../../etc/passwd'), 'reference_not_available', 'RESULT_REF_INVALID');
  });

  it('refuses refs outside its root or from another store', async () => {
    const ref = await store.put({ executionId: 'ex1', entity: 'x' }, { a: 1 });
    await expectStoreError(store.get({ ...ref, key: '../../etc/passwd' }), 'reference_not_available', 'RESULT_REF_INVALID');
    await expectStoreError(store.get({ ...ref, store: 's3' }), 'reference_not_available', 'RESULT_STORE_MISMATCH');
  });

  it('enforces maxBytes with reference_too_large, also for gzip with a lying raw_size', async () => {
    const value = { s: 'y'.repeat(10_000) };
    const ref = await store.put({ executionId: 'ex1', entity: 'big' }, value, { compression: 'gzip' });
    await expectStoreError(store.get(ref, { maxBytes: 1000 }), 'reference_too_large', 'REFERENCE_TOO_LARGE');
    await expectStoreError(store.get({ ...ref, raw_size: 10 }, { maxBytes: 1000 }), 'reference_too_large');
    expect(await store.get(ref, { maxBytes: ref.raw_size })).toEqual(value);
  });

  it('rejects invalid locations', async () => {
    await expect(store.put({ executionId: '../x', entity: 'a' }, 1)).rejects.toThrow(/invalid result location/);
    await expect(store.put({ executionId: 'ex', entity: 'a/../../b' }, 1)).rejects.toThrow(/invalid result location/);
    await expect(store.put({ executionId: 'ex', entity: '' }, 1)).rejects.toThrow(/invalid result location/);
  });

  it('overwrites a location atomically (redelivery)', async () => {
    const loc = { executionId: 'ex1', entity: 'r/t/v1-a1' };
    await store.put(loc, { v: 1 });
    const ref2 = await store.put(loc, { v: 2 });
    expect(await store.getByUri(ref2.uri)).toEqual({ v: 2 });
  });
});

describe('preview', () => {
  it('never splits a multi-byte character', () => {
    const p = makePreview('"ééé"', 4);
    expect(p).toEqual({ bytes: 3, truncated: true, text: '"é' });
  });
});

describe('select (T7.17)', () => {
  it('parses the JSONPath subset', () => {
    expect(parseResultPath('$')).toEqual([]);
    expect(parseResultPath('$.data.items[2].id')).toEqual(['data', 'items', 2, 'id']);
    expect(parseResultPath("$['a b'][0]")).toEqual(['a b', 0]);
    expect(parseResultPath('count')).toEqual(['count']);
    expect(() => parseResultPath('$.a[*]')).toThrow(/unsupported/);
    expect(() => parseResultPath('$..a')).toThrow(/empty name/);
  });
  it('selects values, names them, drops missing, malformed and oversized ones', () => {
    const warnings: string[] = [];
    const v = { count: 3, data: { next: 'c2', items: [{ id: 'a' }, { id: 'b' }] }, blob: 'z'.repeat(100) };
    const out = selectValues(v, ['count', { path: '$.data.next', as: 'next_cursor' }, '$.data.items[1].id', 'missing', '$.x[', 'blob'],
      { maxValueBytes: 50, onWarning: (m) => warnings.push(m) });
    expect(out).toEqual({ count: 3, next_cursor: 'c2', id: 'b' });
    expect(warnings).toHaveLength(2);
  });
});

describe('externalizeIfLarge', () => {
  const loc = { executionId: 'ex2', entity: 'r1/t/v1-a1' };
  it('keeps small values inline', async () => {
    const r = await externalizeIfLarge(store, loc, { a: 1 });
    expect(r).toEqual({ inline: { a: 1 }, size: 7 });
  });
  it('stores values over inlineMaxBytes with extracted values computed from the full value', async () => {
    const v = { count: 2, data: { next: 'p2' }, blob: 'b'.repeat(200) };
    const r = await externalizeIfLarge(store, loc, v, { inlineMaxBytes: 100, select: ['count', { path: '$.data.next', as: 'next_cursor' }], previewMaxBytes: 10 });
    expect(r.ref).toBeDefined();
    expect(r.ref!.extracted).toEqual({ count: 2, next_cursor: 'p2' });
    expect(r.ref!.preview!.text).toHaveLength(10);
    expect(await store.get(r.ref!)).toEqual(v);
  });
  it('the default limit is 102,400 bytes', async () => {
    expect((await externalizeIfLarge(store, loc, 'x'.repeat(102_398))).inline).toBeDefined(); // 102,400 with quotes
    expect((await externalizeIfLarge(store, loc, 'x'.repeat(102_399))).ref).toBeDefined();
  });
  it('reference_first stores every non-null value', async () => {
    expect((await externalizeIfLarge(store, loc, { a: 1 }, { referenceFirst: true })).ref).toBeDefined();
    expect(await externalizeIfLarge(store, loc, null, { referenceFirst: true })).toEqual({ inline: null, size: 4 });
  });
});

describe('hydrate', () => {
  async function part(i: number, v: unknown): Promise<ResultRef> {
    return store.put({ executionId: 'ex3', entity: `r1/i${i}/t/v1-a1` }, v);
  }
  function manifest(strategy: Manifest['strategy'], parts: Manifest['parts'], merge_path: string | null = null): Manifest {
    return { kind: 'manifest', uri: 'noetl://ex3/r1/manifest', strategy, merge_path, total_parts: parts.length, total_size: 0, parts };
  }

  it('passes plain values through and fetches refs', async () => {
    expect(await hydrate(store, { a: 1 })).toEqual({ a: 1 });
    const ref = await part(0, { x: 1 });
    expect(await hydrate(store, ref)).toEqual({ x: 1 });
  });

  it('append keeps index order, mixes inline and ref parts, failed parts are null', async () => {
    const r2 = await part(2, { pages: 9 });
    const m = manifest('append', [
      { index: 2, status: 'ok', ref: r2 },
      { index: 0, status: 'ok', inline: { pages: 4 } },
      { index: 1, status: 'error', inline: null },
    ]);
    expect(await hydrate(store, m)).toEqual([{ pages: 4 }, null, { pages: 9 }]);
  });

  it('concat flattens the list at merge_path of ok parts', async () => {
    const r1 = await part(1, { data: { items: [3, 4] } });
    const m = manifest('concat', [
      { index: 0, status: 'ok', inline: { data: { items: [1, 2] } } },
      { index: 1, status: 'ok', ref: r1 },
      { index: 2, status: 'error', inline: { data: { items: [99] } } },
      { index: 3, status: 'ok', inline: { data: {} } },
    ], '$.data.items');
    expect(await hydrate(store, m)).toEqual([1, 2, 3, 4]);
    const flat = manifest('concat', [{ index: 0, status: 'ok', inline: [1] }, { index: 1, status: 'ok', inline: [2, 3] }]);
    expect(await hydrate(store, flat)).toEqual([1, 2, 3]);
  });

  it('merge and replace', async () => {
    const parts: Manifest['parts'] = [
      { index: 0, status: 'ok', inline: { a: 1, b: 1 } },
      { index: 1, status: 'ok', inline: { b: 2 } },
      { index: 2, status: 'error', inline: { c: 3 } },
    ];
    expect(await hydrate(store, manifest('merge', parts))).toEqual({ a: 1, b: 2 });
    expect(await hydrate(store, manifest('replace', parts))).toEqual({ b: 2 });
  });

  it('materializes a manifest stored behind a ref', async () => {
    const r0 = await part(0, 'first');
    const m = manifest('append', [{ index: 0, status: 'ok', ref: r0 }, { index: 1, status: 'ok', inline: 'second' }]);
    const mref = await store.put({ executionId: 'ex3', entity: 'r1/manifest' }, m);
    expect(mref.content_type).toBe(MANIFEST_CONTENT_TYPE);
    expect(await hydrate(store, mref)).toEqual(['first', 'second']);
  });

  it('bounds the materialized size and reports missing parts', async () => {
    const big = await part(0, 'x'.repeat(5000));
    const m = manifest('append', [{ index: 0, status: 'ok', ref: big }, { index: 1, status: 'ok', inline: 'y' }]);
    await expectStoreError(hydrate(store, m, { maxBytes: 1000 }), 'reference_too_large');
    await expectStoreError(hydrate(store, big, { maxBytes: 1000 }), 'reference_too_large');
    await fsp.rm(big.path!);
    await expectStoreError(hydrate(store, m), 'reference_not_available', 'RESULT_MISSING');
  });
});
