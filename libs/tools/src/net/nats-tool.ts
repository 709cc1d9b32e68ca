import type { NatsConnection } from '@nats-io/nats-core';
import type { JsMsg } from '@nats-io/jetstream';
import { lazyModule } from '../lazy';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const natsCore = lazyModule(() => require('@nats-io/nats-core') as typeof import('@nats-io/nats-core'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const natsNode = lazyModule(() => require('@nats-io/transport-node') as typeof import('@nats-io/transport-node'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const jsMod = lazyModule(() => require('@nats-io/jetstream') as typeof import('@nats-io/jetstream'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const kvMod = lazyModule(() => require('@nats-io/kv') as typeof import('@nats-io/kv'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const objMod = lazyModule(() => require('@nats-io/obj') as typeof import('@nats-io/obj'));
import { isPlainObject, type ErrorKind } from '@noetl/common';
import { credString, resolveAuth } from '../auth';
import {
  ToolConfigError, cancelledOutcome, configErrorOutcome, describeType, errorOutcome, optBool, optNumber, optString, readConfig,
} from '../config';
import { KeyedCache, cacheKey } from '../keyed-cache';
import type { ToolContext, ToolHandler, ToolOutcome } from '../types';

export const NATS_FIELDS = [
  'auth', 'url', 'operation', 'bucket', 'key', 'name', 'value', 'value_b64', 'ttl', 'create', 'subject', 'stream', 'consumer',
  'batch', 'timeout_ms', 'seq', 'headers', 'msg_id', 'ack', 'max_bytes', 'input',
] as const;

const OPERATIONS = [
  'kv_get', 'kv_put', 'kv_delete', 'kv_keys', 'kv_purge', 'object_get', 'object_put', 'object_delete', 'object_list',
  'object_info', 'js_publish', 'js_consume', 'js_get_msg', 'js_stream_info',
] as const;
type Operation = (typeof OPERATIONS)[number];

export interface NatsToolOptions {
  /** server URL when neither `auth` nor `url` is given (default: none -> config error) */
  defaultUrl?: string;
  /** connect timeout (default 5 s) */
  connectTimeoutMs?: number;
  /** cap of `object_get` payloads (default 64 MiB) */
  maxObjectBytes?: number;
}

interface ConnSpec {
  servers: string[];
  user?: string;
  pass?: string;
  token?: string;
  creds?: string;
}

class NotFound extends Error {}

/**
 * `kind: nats` (tools.md §4.4): KV, object store and bounded JetStream operations. Connections are
 * cached per credential/URL and closed by `close()`. `js_consume` is a bounded fetch through a
 * named durable or a temporary pull consumer (deleted afterwards), never a long-lived subscription.
 *
 * @example
 * await nats.run({ url: 'nats://127.0.0.1:4222', operation: 'kv_put', bucket: 'cfg', key: 'a', value: { x: 1 } }, ctx);
 */
export function createNatsTool(opts: NatsToolOptions = {}): ToolHandler {
  const conns = new KeyedCache<Promise<NatsConnection>>((p) => p.then((nc) => nc.drain().catch(() => nc.close()), () => undefined));
  const maxObjectBytes = opts.maxObjectBytes ?? 64 * 1024 * 1024;

  const connFor = (spec: ConnSpec): Promise<NatsConnection> => {
    const key = cacheKey({ servers: spec.servers, user: spec.user, p: spec.pass && cacheKey({ p: spec.pass }), t: spec.token && cacheKey({ t: spec.token }), c: spec.creds && cacheKey({ c: spec.creds }) });
    return conns.get(key, () => {
      const p = natsNode().connect({
        servers: spec.servers,
        user: spec.user,
        pass: spec.pass,
        token: spec.token,
        authenticator: spec.creds ? natsCore().credsAuthenticator(new TextEncoder().encode(spec.creds)) : undefined,
        name: 'noetl-nats-tool',
        timeout: opts.connectTimeoutMs ?? 5000,
        maxReconnectAttempts: 10,
      });
      p.then(
        (nc) => { void nc.closed().then(() => conns.forget(key, p)); },
        () => conns.forget(key, p),
      );
      return p;
    });
  };

  return {
    kind: 'nats',
    fields: NATS_FIELDS,
    close: () => conns.closeAll(),
    async run(config, ctx) {
      const op = readConfig(ctx, 'nats', () => {
        const o = optString(config, 'operation');
        if (!o) throw new ToolConfigError('operation', `field 'operation' is required (${OPERATIONS.join(', ')})`);
        if (!(OPERATIONS as readonly string[]).includes(o)) throw new ToolConfigError('operation', `unknown operation '${o}' (${OPERATIONS.join(', ')})`);
        return o as Operation;
      });
      if ('outcome' in op) return op.outcome;
      let spec: ConnSpec;
      if (config['auth'] !== undefined && config['auth'] !== null && config['auth'] !== '') {
        const r = await resolveAuth(ctx, 'nats', config['auth']);
        if ('outcome' in r) return r.outcome;
        const d = r.cred.data;
        const url = credString(d, 'url', 'servers', 'server') ?? optString(config, 'url') ?? opts.defaultUrl;
        if (!url) return configErrorOutcome(ctx, 'nats', 'auth', 'the nats credential has no url');
        spec = {
          servers: url.split(',').map((s) => s.trim()).filter(Boolean),
          user: credString(d, 'user', 'username'), pass: credString(d, 'password', 'pass'), token: credString(d, 'token'),
          creds: credString(d, 'creds'),
        };
        for (const s of [spec.pass, spec.token, spec.creds]) if (s) ctx.registerSecret(s);
      } else {
        const url = readConfig(ctx, 'nats', () => optString(config, 'url'));
        if ('outcome' in url) return url.outcome;
        const u = url.ok ?? opts.defaultUrl;
        if (!u) return configErrorOutcome(ctx, 'nats', 'url', "one of 'auth' or 'url' is required");
        spec = { servers: u.split(',').map((s) => s.trim()).filter(Boolean) };
      }
      if (ctx.signal.aborted) return cancelledOutcome(ctx, 'nats');
      let nc: NatsConnection;
      try {
        nc = await connFor(spec);
      } catch (e) {
        return natsFailure(ctx, op.ok, e, true);
      }
      try {
        const res = await runOperation(op.ok, config, nc, ctx, maxObjectBytes);
        if ('outcome' in res) return res.outcome;
        return { status: 'ok', data: res.data };
      } catch (e) {
        if (ctx.signal.aborted) return cancelledOutcome(ctx, 'nats');
        if (e instanceof ToolConfigError) return configErrorOutcome(ctx, 'nats', e.field, e.message);
        if (e instanceof NotFound) return errorOutcome(ctx, 'nats', 'not_found', 'NOT_FOUND', `nats ${op.ok}: ${e.message}`);
        return natsFailure(ctx, op.ok, e, false);
      }
    },
  };
}

function req(config: Record<string, unknown>, field: string, alias?: string): string {
  const v = optString(config, field) ?? (alias ? optString(config, alias) : undefined);
  if (!v) throw new ToolConfigError(field, `field '${field}' is required for this operation`);
  return v;
}

/** Payload to store/publish: strings as UTF-8, `value_b64` as bytes, anything else as JSON. */
function payload(config: Record<string, unknown>): Uint8Array {
  const b64 = config['value_b64'];
  if (b64 !== undefined && b64 !== null) {
    if (typeof b64 !== 'string') throw new ToolConfigError('value_b64', `field 'value_b64' must be a string, got ${describeType(b64)}`);
    return new Uint8Array(Buffer.from(b64, 'base64'));
  }
  const v = config['value'];
  if (v === undefined) throw new ToolConfigError('value', "field 'value' is required for this operation");
  return new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** JSON when it parses, else the string; bytes that are not UTF-8 -> `{b64}`. */
function decode(bytes: Uint8Array): { value: unknown } | { b64: string } {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { b64: Buffer.from(bytes).toString('base64') };
  }
  try {
    return { value: JSON.parse(text) };
  } catch {
    return { value: text };
  }
}

function ttlMs(config: Record<string, unknown>): number | undefined {
  const v = config['ttl'];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && v > 0) return Math.round(v * 1000);
  if (typeof v === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(v);
    if (m) return Math.round(Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as Record<string, number>)[(m[2] ?? 's').toLowerCase()]);
  }
  throw new ToolConfigError('ttl', "field 'ttl' must be seconds or a duration string");
}

function isStreamNotFound(e: unknown): boolean {
  return e instanceof jsMod().JetStreamApiError && (e.code === 10059 || /stream not found/i.test(e.message));
}

type Hdrs = { keys(): string[]; get(k: string): string };
function headersOf(m: { headers?: Hdrs; header?: Hdrs }): Record<string, string> | null {
  const h = m.headers ?? m.header;
  if (!h || h.keys().length === 0) return null;
  const out: Record<string, string> = {};
  for (const k of h.keys()) out[k] = h.get(k);
  return out;
}

function msgData(bytes: Uint8Array): Record<string, unknown> {
  const d = decode(bytes);
  return 'b64' in d ? { data: null, data_b64: d.b64 } : { data: d.value };
}

async function runOperation(
  op: Operation, config: Record<string, unknown>, nc: NatsConnection, ctx: ToolContext, maxObjectBytes: number,
): Promise<{ data: unknown } | { outcome: ToolOutcome }> {
  switch (op) {
    case 'kv_get': {
      const bucket = req(config, 'bucket');
      const key = req(config, 'key');
      const kv = await new (kvMod().Kvm)(nc).open(bucket);
      let e;
      try {
        e = await kv.get(key);
      } catch (err) {
        if (isStreamNotFound(err)) throw new NotFound(`bucket '${bucket}' does not exist`);
        throw err;
      }
      if (!e || e.operation !== 'PUT') return { data: { key, found: false, value: null, revision: e ? e.revision : null } };
      const d = decode(e.value);
      return { data: 'b64' in d ? { key, found: true, value: null, value_b64: d.b64, revision: e.revision } : { key, found: true, value: d.value, revision: e.revision } };
    }
    case 'kv_put': {
      const bucket = req(config, 'bucket');
      const key = req(config, 'key');
      const data = payload(config);
      const create = optBool(config, 'create', true);
      const kvm = new (kvMod().Kvm)(nc);
      let revision: number;
      try {
        revision = await (await kvm.open(bucket)).put(key, data);
      } catch (err) {
        // a put into a missing bucket has no responder ("jetstream is not enabled"): check the stream
        if (!isStreamNotFound(err) && (err as Error).name !== 'JetStreamNotEnabled') throw err;
        if (await streamExists(nc, `KV_${bucket}`)) throw err;
        if (!create) throw new NotFound(`bucket '${bucket}' does not exist`);
        const ttl = ttlMs(config);
        revision = await (await kvm.create(bucket, ttl ? { ttl } : {})).put(key, data);
      }
      return { data: { key, revision } };
    }
    case 'kv_delete':
    case 'kv_purge': {
      const bucket = req(config, 'bucket');
      const key = req(config, 'key');
      const kv = await new (kvMod().Kvm)(nc).open(bucket);
      try {
        if (op === 'kv_delete') await kv.delete(key);
        else await kv.purge(key);
      } catch (err) {
        if (isStreamNotFound(err)) throw new NotFound(`bucket '${bucket}' does not exist`);
        throw err;
      }
      return { data: { key, deleted: true } };
    }
    case 'kv_keys': {
      const bucket = req(config, 'bucket');
      const filter = optString(config, 'key');
      const kv = await new (kvMod().Kvm)(nc).open(bucket);
      const keys: string[] = [];
      try {
        for await (const k of await kv.keys(filter)) keys.push(k);
      } catch (err) {
        if (isStreamNotFound(err)) throw new NotFound(`bucket '${bucket}' does not exist`);
        throw err;
      }
      return { data: { keys: keys.sort() } };
    }
    case 'object_get':
    case 'object_info':
    case 'object_delete': {
      const bucket = req(config, 'bucket');
      const name = req(config, 'name', 'key');
      const os = await openObjectStore(nc, bucket);
      const info = await os.info(name);
      if (!info || info.deleted) throw new NotFound(`object '${name}' not found in bucket '${bucket}'`);
      if (op === 'object_info') {
        return { data: { name: info.name, size: info.size, digest: info.digest, chunks: info.chunks, modified: info.mtime, description: info.description ?? null, headers: headersOf(info as never) } };
      }
      if (op === 'object_delete') {
        await os.delete(name);
        return { data: { name, deleted: true } };
      }
      const limit = optNumber(config, 'max_bytes') ?? maxObjectBytes;
      if (info.size > limit) {
        return { outcome: errorOutcome(ctx, 'nats', 'client_error', 'NATS_OBJECT_TOO_LARGE', `nats object_get: object '${name}' is ${info.size} bytes, over the limit of ${limit}`) };
      }
      const bytes = await os.getBlob(name);
      if (!bytes) throw new NotFound(`object '${name}' not found in bucket '${bucket}'`);
      const d = decode(bytes);
      return { data: 'b64' in d ? { name, size: bytes.length, data_b64: d.b64 } : { name, size: bytes.length, data: d.value } };
    }
    case 'object_put': {
      const bucket = req(config, 'bucket');
      const name = req(config, 'name', 'key');
      const data = payload(config);
      const objm = new (objMod().Objm)(nc);
      let os;
      try {
        os = await objm.open(bucket);
      } catch (err) {
        if (!optBool(config, 'create', true)) throw new NotFound(`bucket '${bucket}' does not exist`);
        void err;
        const ttl = ttlMs(config);
        os = await objm.create(bucket, ttl ? { ttl } : {});
      }
      const info = await os.putBlob({ name }, data);
      return { data: { name: info.name, size: info.size, digest: info.digest } };
    }
    case 'object_list': {
      const bucket = req(config, 'bucket');
      const os = await openObjectStore(nc, bucket);
      const list = await os.list();
      return { data: { objects: list.filter((o) => !o.deleted).map((o) => ({ name: o.name, size: o.size })).sort((a, b) => a.name.localeCompare(b.name)) } };
    }
    case 'js_publish': {
      const subject = req(config, 'subject');
      const data = payload(config);
      const hdrMap = config['headers'];
      if (hdrMap !== undefined && hdrMap !== null && !isPlainObject(hdrMap)) throw new ToolConfigError('headers', "field 'headers' must be a mapping");
      let h;
      if (isPlainObject(hdrMap)) {
        h = natsCore().headers();
        for (const [k, v] of Object.entries(hdrMap)) if (v !== null && v !== undefined) h.set(k, String(v));
      }
      const msgID = optString(config, 'msg_id');
      const js = jsMod().jetstream(nc);
      const ack = await js.publish(subject, data, { ...(h ? { headers: h } : {}), ...(msgID ? { msgID } : {}), ...(optString(config, 'stream') ? { expect: { streamName: optString(config, 'stream') } } : {}) });
      return { data: { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate } };
    }
    case 'js_consume':
      return { data: await consume(config, nc, ctx) };
    case 'js_get_msg': {
      const stream = req(config, 'stream');
      const seq = optNumber(config, 'seq');
      const subject = optString(config, 'subject');
      if (seq === undefined && !subject) throw new ToolConfigError('seq', "js_get_msg needs 'seq' or 'subject' (last message on the subject)");
      const jsm = await jsMod().jetstreamManager(nc);
      let m;
      try {
        m = await jsm.streams.getMessage(stream, seq !== undefined ? { seq } : { last_by_subj: subject! });
      } catch (err) {
        if (isStreamNotFound(err)) throw new NotFound(`stream '${stream}' does not exist`);
        if (err instanceof jsMod().JetStreamApiError && err.code === 10037) m = null;
        else throw err;
      }
      if (!m) throw new NotFound(`no message ${seq !== undefined ? `with seq ${seq}` : `on subject ${subject}`} in stream '${stream}'`);
      return { data: { subject: m.subject, seq: m.seq, ...msgData(m.data), headers: headersOf(m as never), time: m.time?.toISOString?.() ?? null } };
    }
    case 'js_stream_info': {
      const stream = req(config, 'stream');
      const jsm = await jsMod().jetstreamManager(nc);
      try {
        const info = await jsm.streams.info(stream);
        return { data: JSON.parse(JSON.stringify({ stream, config: info.config, state: info.state, created: info.created })) };
      } catch (err) {
        if (isStreamNotFound(err)) throw new NotFound(`stream '${stream}' does not exist`);
        throw err;
      }
    }
  }
}

async function streamExists(nc: NatsConnection, name: string): Promise<boolean> {
  try {
    await (await jsMod().jetstreamManager(nc)).streams.info(name);
    return true;
  } catch (err) {
    if (isStreamNotFound(err)) return false;
    throw err;
  }
}

async function openObjectStore(nc: NatsConnection, bucket: string) {
  try {
    return await new (objMod().Objm)(nc).open(bucket);
  } catch (err) {
    throw new NotFound(`object bucket '${bucket}' does not exist (${(err as Error).message})`);
  }
}

/**
 * Bounded fetch (tools.md §4.4): at most `batch` (≤ 1000, default 100) messages within
 * `timeout_ms` (≤ 5000, default 1000; JetStream needs at least 1000 for a pull). With `consumer`,
 * the named durable pull consumer is read; otherwise a temporary pull consumer starting at `seq`
 * (or the stream's first message), filtered by `subject`, is created and deleted afterwards.
 * Messages are acknowledged unless `ack: false`.
 */
async function consume(config: Record<string, unknown>, nc: NatsConnection, ctx: ToolContext): Promise<unknown> {
  const stream = req(config, 'stream');
  const batch = Math.max(1, Math.min(1000, Math.floor(optNumber(config, 'batch') ?? 100)));
  const timeoutMs = Math.max(1, Math.min(5000, Math.floor(optNumber(config, 'timeout_ms') ?? 1000)));
  const ack = optBool(config, 'ack', true);
  const named = optString(config, 'consumer');
  const subject = optString(config, 'subject');
  const seq = optNumber(config, 'seq');
  const jsm = await jsMod().jetstreamManager(nc);
  const js = jsMod().jetstream(nc);
  let consumerName = named;
  let temporary = false;
  try {
    if (!consumerName) {
      const ci = await jsm.consumers.add(stream, {
        ack_policy: jsMod().AckPolicy.Explicit,
        ...(seq !== undefined ? { deliver_policy: jsMod().DeliverPolicy.StartSequence, opt_start_seq: seq } : { deliver_policy: jsMod().DeliverPolicy.All }),
        ...(subject ? { filter_subject: subject } : {}),
        inactive_threshold: 60_000_000_000, // ns: the server reaps it even if the delete below is lost
        max_batch: 1000,
      });
      consumerName = ci.name;
      temporary = true;
    }
    const consumer = await js.consumers.get(stream, consumerName);
    const info = await consumer.info(true);
    const want = Math.min(batch, info.num_pending + info.num_ack_pending);
    const messages: Record<string, unknown>[] = [];
    if (want > 0) {
      const iter = await consumer.fetch({ max_messages: want, expires: Math.max(1000, timeoutMs) });
      const stop = () => iter.stop();
      ctx.signal.addEventListener('abort', stop, { once: true });
      const timer = setTimeout(stop, timeoutMs);
      try {
        for await (const m of iter as AsyncIterable<JsMsg>) {
          messages.push({ subject: m.subject, seq: m.seq, ...msgData(m.data), headers: headersOf(m as never) });
          if (ack) m.ack();
          if (messages.length >= want) break;
        }
      } finally {
        clearTimeout(timer);
        ctx.signal.removeEventListener('abort', stop);
      }
      if (ack) await nc.flush();
    }
    return { count: messages.length, messages };
  } catch (err) {
    if (isStreamNotFound(err)) throw new NotFound(`stream '${stream}' does not exist`);
    if (err instanceof jsMod().JetStreamApiError && err.code === 10014) throw new NotFound(`consumer '${named}' does not exist on stream '${stream}'`);
    throw err;
  } finally {
    if (temporary && consumerName) await jsm.consumers.delete(stream, consumerName).catch(() => undefined);
  }
}

function natsFailure(ctx: ToolContext, op: string, e: unknown, connecting: boolean): ToolOutcome {
  const err = e as Error & { code?: unknown };
  const name = err?.name ?? '';
  const msg = `nats ${op}: ${err?.message ?? String(e)}`;
  let kind: ErrorKind = 'unknown';
  let code = 'NATS_ERROR';
  if (name === 'AuthorizationError' || /authorization|authentication/i.test(err?.message ?? '')) {
    kind = 'auth';
    code = 'NATS_AUTH';
  } else if (name === 'TimeoutError') {
    kind = connecting ? 'connection' : 'timeout';
    code = connecting ? 'NATS_CONNECTION' : 'TIMEOUT';
  } else if (connecting || name === 'ConnectionError' || name === 'ClosedConnectionError' || name === 'DrainingConnectionError' || name === 'NoRespondersError') {
    kind = 'connection';
    code = name === 'NoRespondersError' ? 'NATS_NO_RESPONDERS' : 'NATS_CONNECTION';
  } else if (e instanceof jsMod().JetStreamApiError) {
    kind = 'client_error';
    code = `NATS_JS_${e.code}`;
  } else if (name === 'InvalidArgumentError' || name === 'InvalidNameError' || name === 'InvalidSubjectError') {
    return configErrorOutcome(ctx, 'nats', undefined, msg);
  }
  return errorOutcome(ctx, 'nats', kind, code, msg);
}
