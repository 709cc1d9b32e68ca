import { randomBytes } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import { createNatsTool } from './nats-tool';
import { makeTestContext } from '../testing';
import type { ToolHandler } from '../types';

const url = process.env.NOETL_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const sfx = randomBytes(4).toString('hex');
const bucket = `noetl_test_kv_${sfx}`;
const autoBucket = `noetl_test_kv_auto_${sfx}`;
const objBucket = `noetl_test_obj_${sfx}`;
const stream = `NOETL_TEST_${sfx}`;
const subj = `noetl.test.${sfx}`;

let admin: NatsConnection;
let tool: ToolHandler;
const ctx = () => makeTestContext({ credentials: { nats_cred: { type: 'nats', data: { url } } } });
const run = (config: Record<string, unknown>) => tool.run({ url, ...config }, ctx());

beforeAll(async () => {
  admin = await connect({ servers: url });
  const jsm = await jetstreamManager(admin);
  await jsm.streams.add({ name: stream, subjects: [`${subj}.>`] });
  await new Kvm(admin).create(bucket);
});
afterAll(async () => {
  const jsm = await jetstreamManager(admin);
  for (const s of [stream, `KV_${bucket}`, `KV_${autoBucket}`, `OBJ_${objBucket}`]) await jsm.streams.delete(s).catch(() => undefined);
  await admin.drain();
});
beforeEach(() => { tool = createNatsTool(); });
afterEach(async () => { await tool.close?.(); });

describe('nats: KV', () => {
  it('put / get / keys / delete / purge', async () => {
    expect(await run({ operation: 'kv_put', bucket, key: 'a', value: { x: 1 } })).toMatchObject({ status: 'ok', data: { key: 'a', revision: expect.any(Number) } });
    await run({ operation: 'kv_put', bucket, key: 'b', value: 'plain text' });
    await run({ operation: 'kv_put', bucket, key: 'c', value: 42 });
    expect((await run({ operation: 'kv_get', bucket, key: 'a' })).data).toMatchObject({ key: 'a', found: true, value: { x: 1 } });
    expect((await run({ operation: 'kv_get', bucket, key: 'b' })).data).toMatchObject({ found: true, value: 'plain text' });
    expect((await run({ operation: 'kv_get', bucket, key: 'c' })).data).toMatchObject({ found: true, value: 42 });
    expect((await run({ operation: 'kv_get', bucket, key: 'missing' }))).toEqual({ status: 'ok', data: { key: 'missing', found: false, value: null, revision: null } });
    expect((await run({ operation: 'kv_keys', bucket })).data).toEqual({ keys: ['a', 'b', 'c'] });
    expect((await run({ operation: 'kv_delete', bucket, key: 'a' })).data).toEqual({ key: 'a', deleted: true });
    expect((await run({ operation: 'kv_get', bucket, key: 'a' })).data).toMatchObject({ found: false });
    expect((await run({ operation: 'kv_purge', bucket, key: 'b' })).data).toEqual({ key: 'b', deleted: true });
    expect((await run({ operation: 'kv_keys', bucket })).data).toEqual({ keys: ['c'] });
  });

  it('kv_put creates a missing bucket (unless create: false); reads of a missing bucket are not_found', async () => {
    expect((await run({ operation: 'kv_put', bucket: autoBucket, key: 'k', value: 'v', ttl: 60 })).status).toBe('ok');
    expect((await run({ operation: 'kv_get', bucket: autoBucket, key: 'k' })).data).toMatchObject({ value: 'v' });
    expect((await run({ operation: 'kv_put', bucket: `nope_${sfx}`, key: 'k', value: 'v', create: false })).error).toMatchObject({ kind: 'not_found' });
    expect((await run({ operation: 'kv_get', bucket: `nope_${sfx}`, key: 'k' })).error).toMatchObject({ kind: 'not_found', source: 'nats' });
  });

  it('auth credential with url', async () => {
    const out = await tool.run({ auth: 'nats_cred', operation: 'kv_get', bucket, key: 'c' }, ctx());
    expect(out.data).toMatchObject({ found: true, value: 42 });
  });
});

describe('nats: object store', () => {
  it('put / get / info / list / delete', async () => {
    const put = await run({ operation: 'object_put', bucket: objBucket, name: 'doc.json', value: { hello: 'world' } });
    expect(put).toMatchObject({ status: 'ok', data: { name: 'doc.json', size: 17, digest: expect.stringMatching(/^SHA-256=/) } });
    await run({ operation: 'object_put', bucket: objBucket, name: 'bin', value_b64: Buffer.from([0xff, 0xfe, 0x00]).toString('base64') });
    expect((await run({ operation: 'object_get', bucket: objBucket, name: 'doc.json' })).data).toEqual({ name: 'doc.json', size: 17, data: { hello: 'world' } });
    expect((await run({ operation: 'object_get', bucket: objBucket, name: 'bin' })).data).toEqual({ name: 'bin', size: 3, data_b64: '//4A' });
    expect((await run({ operation: 'object_info', bucket: objBucket, name: 'doc.json' })).data).toMatchObject({ name: 'doc.json', size: 17 });
    expect((await run({ operation: 'object_list', bucket: objBucket })).data).toEqual({ objects: [{ name: 'bin', size: 3 }, { name: 'doc.json', size: 17 }] });
    expect((await run({ operation: 'object_get', bucket: objBucket, name: 'doc.json', max_bytes: 5 })).error).toMatchObject({ code: 'NATS_OBJECT_TOO_LARGE' });
    expect((await run({ operation: 'object_delete', bucket: objBucket, name: 'bin' })).data).toEqual({ name: 'bin', deleted: true });
    expect((await run({ operation: 'object_get', bucket: objBucket, name: 'bin' })).error).toMatchObject({ kind: 'not_found' });
    expect((await run({ operation: 'object_list', bucket: `nope_${sfx}` })).error).toMatchObject({ kind: 'not_found' });
  });
});

describe('nats: JetStream', () => {
  it('publish, stream info, get_msg, bounded consume with a temporary consumer', async () => {
    const p1 = await run({ operation: 'js_publish', subject: `${subj}.a`, value: { n: 1 }, headers: { 'X-Trace': 't1' } });
    expect(p1).toMatchObject({ status: 'ok', data: { stream, seq: 1 } });
    await run({ operation: 'js_publish', subject: `${subj}.b`, value: 'two' });
    await run({ operation: 'js_publish', subject: `${subj}.a`, value: { n: 3 }, msg_id: 'dedupe-1' });
    const dup = await run({ operation: 'js_publish', subject: `${subj}.a`, value: { n: 3 }, msg_id: 'dedupe-1' });
    expect(dup.data).toMatchObject({ seq: 3, duplicate: true });
    const info = await run({ operation: 'js_stream_info', stream });
    expect(info.data).toMatchObject({ stream, state: { messages: 3, first_seq: 1, last_seq: 3 }, config: { name: stream } });
    expect((await run({ operation: 'js_get_msg', stream, seq: 1 })).data).toEqual({ subject: `${subj}.a`, seq: 1, data: { n: 1 }, headers: { 'X-Trace': 't1' }, time: expect.any(String) });
    expect((await run({ operation: 'js_get_msg', stream, subject: `${subj}.b` })).data).toMatchObject({ seq: 2, data: 'two' });
    expect((await run({ operation: 'js_get_msg', stream, seq: 99 })).error).toMatchObject({ kind: 'not_found' });

    const t0 = Date.now();
    const all = await run({ operation: 'js_consume', stream, timeout_ms: 5000 });
    expect(all.data).toMatchObject({ count: 3, messages: [{ seq: 1, data: { n: 1 }, headers: { 'X-Trace': 't1' } }, { seq: 2, data: 'two', headers: null }, { seq: 3 }] });
    expect(Date.now() - t0).toBeLessThan(4000); // only the pending messages are pulled: no wait for the 5 s expiry
    expect((await run({ operation: 'js_consume', stream, subject: `${subj}.a`, batch: 1 })).data).toMatchObject({ count: 1, messages: [{ seq: 1 }] });
    expect((await run({ operation: 'js_consume', stream, seq: 2 })).data).toMatchObject({ count: 2, messages: [{ seq: 2 }, { seq: 3 }] });
    expect((await run({ operation: 'js_consume', stream, subject: `${subj}.none` })).data).toEqual({ count: 0, messages: [] });
    const jsm = await jetstreamManager(admin);
    const consumers: unknown[] = [];
    for await (const c of jsm.consumers.list(stream)) consumers.push(c);
    expect(consumers).toHaveLength(0); // temporary consumers are deleted
  });

  it('a named durable consumer resumes where it left off', async () => {
    const jsm = await jetstreamManager(admin);
    await jsm.consumers.add(stream, { durable_name: 'worker', ack_policy: 'explicit' as never });
    try {
      expect((await run({ operation: 'js_consume', stream, consumer: 'worker', batch: 2 })).data).toMatchObject({ count: 2, messages: [{ seq: 1 }, { seq: 2 }] });
      expect((await run({ operation: 'js_consume', stream, consumer: 'worker', batch: 10, timeout_ms: 1000 })).data).toMatchObject({ count: 1, messages: [{ seq: 3 }] });
      expect((await run({ operation: 'js_consume', stream, consumer: 'worker' })).data).toEqual({ count: 0, messages: [] });
      expect((await run({ operation: 'js_consume', stream, consumer: 'ghost' })).error).toMatchObject({ kind: 'not_found' });
    } finally {
      await jsm.consumers.delete(stream, 'worker');
    }
    expect((await run({ operation: 'js_stream_info', stream: `NOPE_${sfx}` })).error).toMatchObject({ kind: 'not_found' });
  });
});

describe('nats: config and connection errors', () => {
  it('names the offending field', async () => {
    expect((await run({})).error).toMatchObject({ kind: 'config', details: { field: 'operation' } });
    expect((await run({ operation: 'kv_explode' })).error).toMatchObject({ kind: 'config', details: { field: 'operation' } });
    expect((await run({ operation: 'kv_get', bucket })).error).toMatchObject({ kind: 'config', details: { field: 'key' } });
    expect((await run({ operation: 'kv_put', bucket, key: 'x' })).error).toMatchObject({ kind: 'config', details: { field: 'value' } });
    expect((await run({ operation: 'js_get_msg', stream })).error).toMatchObject({ kind: 'config', details: { field: 'seq' } });
    expect((await tool.run({ operation: 'kv_get', bucket, key: 'x' }, ctx())).error).toMatchObject({ kind: 'config', details: { field: 'url' } });
  });
  it('an unreachable server is a retryable connection error', async () => {
    const out = await tool.run({ url: 'nats://127.0.0.1:1', operation: 'kv_get', bucket, key: 'x' }, ctx());
    expect(out.error).toMatchObject({ kind: 'connection', retryable: true });
  });
});
