import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createFsResultStore, type FsResultStore } from '@noetl/results';
import type { Manifest, ResultRef } from '@noetl/common';
import { createArtifactTool, createResultFetchTool } from './artifact-tool';
import { makeTestContext } from '../testing';

let root: string;
let store: FsResultStore;
beforeEach(async () => {
  root = await fsp.mkdtemp(path.join(os.tmpdir(), 'noetl-artifact-'));
  store = createFsResultStore({ root });
});
afterEach(async () => { await fsp.rm(root, { recursive: true, force: true }); });

const tool = createArtifactTool();
const fetchTool = createResultFetchTool();
const ctx = () => makeTestContext({ results: store, executionId: 'ex9', stepRunId: 'r4.0', task: 'save', visit: 2, attempt: 1 });

describe('artifact', () => {
  it('put stores input.data and returns the ResultRef; get reads it back by ref, URI and JSON text', async () => {
    const put = await tool.run({ action: 'put', input: { data: { rows: [1, 2, 3] } } }, ctx());
    expect(put.status).toBe('ok');
    const ref = put.data as ResultRef;
    expect(ref).toMatchObject({ kind: 'result_ref', store: 'fs', uri: 'noetl://ex9/artifacts/r4.0/save/v2-a1', scope: 'execution' });
    for (const cfg of [
      { action: 'get', input: { result_ref: ref } },
      { action: 'get', input: { ref } },
      { action: 'get', ref },
      { action: 'get', uri: ref.uri },
      { action: 'get', input: { result_ref: JSON.stringify(ref) } },
      { action: 'GET', input: { uri: ref.uri } },
    ]) {
      expect(await tool.run(cfg, ctx())).toEqual({ status: 'ok', data: { rows: [1, 2, 3] } });
    }
    expect(await fetchTool.run({ uri: ref.uri }, ctx())).toEqual({ status: 'ok', data: { rows: [1, 2, 3] } });
  });

  it('put with a name, scope and gzip', async () => {
    const put = await tool.run({ action: 'put', input: { data: 'x'.repeat(1000), name: 'listing/full', scope: 'permanent', compression: 'gzip' } }, ctx());
    expect(put.data).toMatchObject({ uri: 'noetl://ex9/artifacts/listing/full', scope: 'permanent', compression: 'gzip' });
    expect((await tool.run({ action: 'put', input: { data: 1, name: '../escape' } }, ctx())).error).toMatchObject({ kind: 'config', details: { field: 'input.name' } });
    expect((await tool.run({ action: 'put', input: { data: 1, scope: 'forever' } }, ctx())).error).toMatchObject({ kind: 'config', details: { field: 'input.scope' } });
    expect((await tool.run({ action: 'put', input: {} }, ctx())).error).toMatchObject({ kind: 'config', details: { field: 'input.data' } });
  });

  it('materializes manifests (inline, and stored behind a URI)', async () => {
    const part = await store.put({ executionId: 'ex9', entity: 'r1/i1/t/v1-a1' }, { items: [3, 4] });
    const m: Manifest = {
      kind: 'manifest', uri: 'noetl://ex9/r1/manifest', strategy: 'concat', merge_path: '$.items', total_parts: 2, total_size: 0,
      parts: [{ index: 0, status: 'ok', inline: { items: [1, 2] } }, { index: 1, status: 'ok', ref: part }],
    };
    expect(await tool.run({ action: 'get', input: { result_ref: m } }, ctx())).toEqual({ status: 'ok', data: [1, 2, 3, 4] });
    const mref = await store.put({ executionId: 'ex9', entity: 'r1/manifest' }, m);
    expect(await tool.run({ action: 'get', uri: mref.uri }, ctx())).toEqual({ status: 'ok', data: [1, 2, 3, 4] });
  });

  it('missing / corrupt -> reference_not_available (retryable); over the limit -> reference_too_large', async () => {
    const ref = (await tool.run({ action: 'put', input: { data: { big: 'y'.repeat(5000) } } }, ctx())).data as ResultRef;
    expect((await tool.run({ action: 'get', ref, hydrate_max_bytes: 100 }, ctx())).error).toMatchObject({ kind: 'reference_too_large', retryable: false });
    const small = createArtifactTool({ hydrateMaxBytes: 100 });
    expect((await small.run({ action: 'get', ref }, ctx())).error).toMatchObject({ kind: 'reference_too_large' });
    await fsp.writeFile(ref.path!, '{"big":"tampered"}');
    expect((await tool.run({ action: 'get', ref }, ctx())).error).toMatchObject({ kind: 'reference_not_available', code: 'RESULT_CHECKSUM_MISMATCH', retryable: true, source: 'artifact' });
    await fsp.rm(ref.path!);
    expect((await tool.run({ action: 'get', ref }, ctx())).error).toMatchObject({ kind: 'reference_not_available', code: 'RESULT_MISSING' });
    expect((await fetchTool.run({ uri: 'noetl://ex9/none' }, ctx())).error).toMatchObject({ kind: 'reference_not_available', source: 'result_fetch' });
  });

  it('config errors', async () => {
    expect((await tool.run({}, ctx())).error).toMatchObject({ kind: 'config', details: { field: 'action' } });
    expect((await tool.run({ action: 'delete' }, ctx())).error).toMatchObject({ kind: 'config', details: { field: 'action' } });
    expect((await tool.run({ action: 'get' }, ctx())).error).toMatchObject({ kind: 'config', details: { field: 'input.result_ref' } });
    expect((await tool.run({ action: 'get', input: { result_ref: { a: 1 } } }, ctx())).error).toMatchObject({ kind: 'config', details: { field: 'input.result_ref' } });
    expect((await tool.run({ action: 'get', uri: 'http://x' }, ctx())).error).toMatchObject({ kind: 'config', details: { field: 'uri' } });
    expect((await tool.run({ action: 'get', input: 'x' }, ctx())).error).toMatchObject({ kind: 'config', details: { field: 'input' } });
  });
});
