import { promises as fsp, closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { NoetlError, isManifest, sha256Hex, type ResultRef } from '@noetl/common';
import type { GetOptions, PutOptions, ResultLocation, ResultStore } from './types';
import { notAvailable, tooLarge } from './errors';
import { DEFAULT_PREVIEW_MAX_BYTES, makePreview, schemaHint } from './ref-meta';

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);

export const MANIFEST_CONTENT_TYPE = 'application/vnd.noetl.manifest+json';

export interface FsResultStoreOptions {
  /** directory that holds `exec/` (payloads) and `refs/` (ResultRef sidecars for getByUri) */
  root: string;
  /** compression when `PutOptions.compression` is not given (default `none`) */
  defaultCompression?: 'none' | 'gzip';
  /** re-read the written file and verify its checksum before `put` resolves (default true) */
  verifyAfterWrite?: boolean;
  /** clock for `created_at` (tests) */
  now?: () => Date;
}

export interface FsResultStore extends ResultStore {
  readonly storeKind: 'fs';
  readonly root: string;
  getByUri(uri: string, opts?: GetOptions): Promise<unknown>;
  /** the ResultRef last stored under a `noetl://` URI (reads the sidecar), or throws reference_not_available */
  refByUri(uri: string): Promise<ResultRef>;
  /**
   * Synchronous `put` (uncompressed, durable before it returns): for callers that cannot await,
   * e.g. the pure scheduler's `storeValue` port for large ctx values (runtime.md T7.20).
   */
  putSync(location: ResultLocation, value: unknown, opts?: Omit<PutOptions, 'compression'>): ResultRef;
}

/**
 * Results store on the local filesystem (embedded mode, runtime.md T7.16).
 *
 * Layout under `root`: `exec/<execution_id>/<entity>.json[.gz]` holds the payload (JSON text of the
 * value in insertion order, optionally gzip-compressed); `refs/<execution_id>/<entity>.json` holds
 * the ResultRef so that `getByUri` can verify the checksum. Every file is written to a temp file,
 * fsynced, renamed into place and the directory fsynced before `put` resolves (T7.8).
 *
 * @example
 * const store = createFsResultStore({ root: '/var/lib/noetl/results' });
 * const ref = await store.put({ executionId: 'ex1', entity: 'r1/fetch/v1-a1' }, bigValue);
 * const again = await store.get(ref, { maxBytes: 64 << 20 });
 */
export function createFsResultStore(opts: FsResultStoreOptions): FsResultStore {
  const root = path.resolve(opts.root);
  const verify = opts.verifyAfterWrite ?? true;
  const now = opts.now ?? (() => new Date());

  const inRoot = (p: string): string | null => {
    const abs = path.resolve(root, p);
    return abs === root || abs.startsWith(root + path.sep) ? abs : null;
  };

  /** The ResultRef of a payload about to be stored (one construction for put and putSync). */
  function makeRef(location: ResultLocation, json: string, raw: Buffer, stored: Buffer, compression: 'none' | 'gzip', value: unknown, putOpts: PutOptions): ResultRef {
    const { executionId, entity } = checkLocation(location);
    const key = `exec/${executionId}/${entity}.json${compression === 'gzip' ? '.gz' : ''}`;
    const ref: ResultRef = {
      kind: 'result_ref',
      uri: `noetl://${executionId}/${entity}`,
      store: 'fs',
      key,
      path: path.join(root, key),
      content_type: putOpts.contentType ?? (isManifest(value) ? MANIFEST_CONTENT_TYPE : 'application/json'),
      encoding: 'json',
      compression,
      size: stored.length,
      raw_size: raw.length,
      checksum: `sha256:${sha256Hex(stored)}`,
      schema: schemaHint(value),
      scope: location.scope ?? 'execution',
      created_at: now().toISOString(),
      expires_at: null,
    };
    if (putOpts.extracted !== undefined) ref.extracted = putOpts.extracted;
    ref.preview = makePreview(json, putOpts.previewMaxBytes ?? DEFAULT_PREVIEW_MAX_BYTES);
    return ref;
  }

  function putSync(location: ResultLocation, value: unknown, putOpts: Omit<PutOptions, 'compression'> = {}): ResultRef {
    const json = JSON.stringify(value) ?? 'null';
    const raw = Buffer.from(json, 'utf8');
    const ref = makeRef(location, json, raw, raw, 'none', value, putOpts);
    atomicWriteSync(ref.path as string, raw);
    atomicWriteSync(path.join(root, `refs/${location.executionId}/${location.entity}.json`), Buffer.from(JSON.stringify(ref), 'utf8'));
    return ref;
  }

  async function put(location: ResultLocation, value: unknown, putOpts: PutOptions = {}): Promise<ResultRef> {
    const { executionId, entity } = checkLocation(location);
    const json = JSON.stringify(value) ?? 'null';
    const raw = Buffer.from(json, 'utf8');
    const compression = putOpts.compression ?? opts.defaultCompression ?? 'none';
    const stored = compression === 'gzip' ? await gzip(raw) : raw;
    const ref = makeRef(location, json, raw, stored, compression, value, putOpts);
    const { key, checksum } = ref as ResultRef & { key: string };
    const file = ref.path as string;
    // payload and sidecar are written in parallel; both are durable before put resolves
    await Promise.all([
      (async () => {
        await atomicWrite(file, stored);
        if (verify) {
          const back = await fsp.readFile(file);
          if (`sha256:${sha256Hex(back)}` !== checksum) {
            throw new NoetlError('E_RESULT_WRITE_VERIFY', `results store: checksum mismatch after writing ${key}`, { executionId });
          }
        }
      })(),
      atomicWrite(path.join(root, `refs/${executionId}/${entity}.json`), Buffer.from(JSON.stringify(ref), 'utf8')),
    ]);
    return ref;
  }

  async function get(ref: ResultRef, getOpts: GetOptions = {}): Promise<unknown> {
    const ctx = { uri: ref?.uri };
    if (!ref || ref.kind !== 'result_ref') throw notAvailable('RESULT_REF_INVALID', 'not a ResultRef', ctx);
    if (ref.store !== 'fs') throw notAvailable('RESULT_STORE_MISMATCH', `ResultRef ${ref.uri} is in store ${ref.store}, this reader serves fs`, ctx);
    const maxBytes = getOpts.maxBytes;
    if (maxBytes !== undefined && typeof ref.raw_size === 'number' && ref.raw_size > maxBytes) {
      throw tooLarge(`result ${ref.uri} is ${ref.raw_size} bytes, over the hydration limit of ${maxBytes}`, ctx);
    }
    const file = typeof ref.key === 'string' ? inRoot(ref.key) : typeof ref.path === 'string' ? inRoot(ref.path) : null;
    if (!file) throw notAvailable('RESULT_REF_INVALID', `ResultRef ${ref.uri} points outside the results store`, ctx);
    let stored: Buffer;
    try {
      stored = await fsp.readFile(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw notAvailable('RESULT_MISSING', `result ${ref.uri} is missing from the results store`, ctx, e);
      throw notAvailable('RESULT_UNREADABLE', `result ${ref.uri} could not be read: ${(e as Error).message}`, ctx, e);
    }
    if (`sha256:${sha256Hex(stored)}` !== ref.checksum) {
      throw notAvailable('RESULT_CHECKSUM_MISMATCH', `result ${ref.uri}: checksum mismatch`, ctx);
    }
    let raw: Buffer = stored;
    if (ref.compression === 'gzip') {
      try {
        raw = await gunzip(stored, maxBytes === undefined ? {} : { maxOutputLength: Math.max(1, maxBytes + 1) });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
          throw tooLarge(`result ${ref.uri} exceeds the hydration limit of ${maxBytes} bytes`, ctx);
        }
        throw notAvailable('RESULT_CORRUPT', `result ${ref.uri} could not be decompressed`, ctx, e);
      }
    }
    if (maxBytes !== undefined && raw.length > maxBytes) {
      throw tooLarge(`result ${ref.uri} is ${raw.length} bytes, over the hydration limit of ${maxBytes}`, ctx);
    }
    try {
      return JSON.parse(raw.toString('utf8'));
    } catch (e) {
      throw notAvailable('RESULT_CORRUPT', `result ${ref.uri} is not valid JSON`, ctx, e);
    }
  }

  async function refByUri(uri: string): Promise<ResultRef> {
    const m = /^noetl:\/\/([^/]+)\/(.+)$/.exec(uri ?? '');
    if (!m) throw notAvailable('RESULT_REF_INVALID', `not a noetl:// result URI: ${uri}`, { uri });
    let loc: { executionId: string; entity: string };
    try {
      loc = checkLocation({ executionId: m[1], entity: m[2] });
    } catch {
      throw notAvailable('RESULT_REF_INVALID', `not a valid result URI: ${uri}`, { uri });
    }
    let text: string;
    try {
      text = await fsp.readFile(path.join(root, `refs/${loc.executionId}/${loc.entity}.json`), 'utf8');
    } catch (e) {
      throw notAvailable('RESULT_MISSING', `no result stored under ${uri}`, { uri }, e);
    }
    try {
      return JSON.parse(text) as ResultRef;
    } catch (e) {
      throw notAvailable('RESULT_CORRUPT', `reference record of ${uri} is corrupt`, { uri }, e);
    }
  }

  return {
    storeKind: 'fs',
    root,
    put,
    putSync,
    get,
    refByUri,
    async getByUri(uri: string, getOpts?: GetOptions) {
      return get(await refByUri(uri), getOpts);
    },
  };
}

const SEGMENT_RE = /^[^/\\\0]+$/;

function checkLocation(loc: ResultLocation): { executionId: string; entity: string } {
  const { executionId, entity } = loc ?? ({} as ResultLocation);
  const bad = (why: string) => new NoetlError('E_RESULT_LOCATION', `invalid result location: ${why}`, { executionId });
  if (typeof executionId !== 'string' || !SEGMENT_RE.test(executionId) || executionId === '.' || executionId === '..') {
    throw bad(`execution id ${JSON.stringify(executionId)}`);
  }
  if (typeof entity !== 'string' || entity.length === 0) throw bad('empty entity');
  for (const seg of entity.split('/')) {
    if (!SEGMENT_RE.test(seg) || seg === '.' || seg === '..') throw bad(`entity ${JSON.stringify(entity)}`);
  }
  return { executionId, entity };
}

/** Synchronous twin of atomicWrite (putSync). */
function atomicWriteSync(file: string, data: Buffer): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** temp file + write + fsync + rename + fsync(dir): the file is either absent or complete. */
async function atomicWrite(file: string, data: Buffer): Promise<void> {
  const dir = path.dirname(file);
  await fsp.mkdir(dir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  const fh = await fsp.open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
  await fh.close();
  try {
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
  let dh: fsp.FileHandle | undefined;
  try {
    dh = await fsp.open(dir, 'r');
    await dh.sync();
  } catch {
    // directory fsync is not supported everywhere; the rename is still atomic
  } finally {
    await dh?.close().catch(() => undefined);
  }
}
