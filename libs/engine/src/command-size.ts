import { isResultRef, jsonByteSize, setOwn, sha256Hex, type ResultRef } from '@noetl/common';
import type { Command, StepView } from '@noetl/events';
import type { EngineEnv } from './types';

/**
 * runtime.md T4.3: a command larger than `limits.max_event_bytes` carries `workload`/`ctx`/`steps`
 * values by reference. Pure apart from the shell's synchronous `storeValue` port (as T7.20).
 *
 * Every command goes through `fitCommand`, so the common case must cost next to nothing (~0.1–0.3
 * µs): a lower and an upper bound of the command's JSON size are summed from exact sizes cached
 * per immutable state object (the workload, the ctx mapping and each value in it, large step
 * results, the globals, the static parts of a step), a budgeted walk of small fresh objects (run
 * args, small step results: no serialization, no cache entry) and cheap bounds of short strings
 * (ids, timestamps: 1 to 6 bytes per UTF-16 unit). Only when the upper bound exceeds the limit
 * while the lower one does not is the exact size computed; only when the command really is over
 * the limit are values externalized, largest first, until it fits.
 *
 * Not covered (left inline whatever their size): pipeline, base_spec, step_input, args, the loop
 * item, `parent_iter`, and values smaller than MIN_EXTERNALIZE_BYTES (a ResultRef with its preview
 * is about 1.5 KB: storing smaller values would not shrink the command).
 */

export type StoreValue = NonNullable<EngineEnv['storeValue']>;

/** values below this size are never externalized (a ResultRef with a 1 KiB preview is ~1.5 KB) */
export const MIN_EXTERNALIZE_BYTES = 4096;

// ------------------------------------------------------------------ cached sizes
/**
 * Exact JSON size per object. Sound because every object it sees is immutable: state objects are
 * copy-on-write (cow.ts; a session only mutates its own fresh copies, never the workload, ctx
 * mappings, ctx values, step results, run args or playbook parts it reads here).
 */
const SIZE = new WeakMap<object, number>();

export function sizeOf(v: object): number {
  let n = SIZE.get(v);
  if (n === undefined) {
    n = jsonByteSize(v);
    SIZE.set(v, n);
  }
  return n;
}

/** Exact JSON size of any value (objects cached). `undefined` counts 0 (dropped from mappings). */
function exactSize(v: unknown): number {
  switch (typeof v) {
    case 'object':
      return v === null ? 4 : sizeOf(v);
    case 'string':
      return Buffer.byteLength(JSON.stringify(v), 'utf8');
    case 'undefined':
    case 'function':
    case 'symbol':
      return 0;
    default:
      return (JSON.stringify(v) ?? '').length;
  }
}

/**
 * Exact size of a mapping whose values are cached separately: when one ctx key changes, the new
 * mapping costs O(keys), not a re-serialization of every (unchanged) large value.
 */
function mappingSize(o: Record<string, unknown>): number {
  let n = SIZE.get(o);
  if (n !== undefined) return n;
  n = 2;
  let first = true;
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    n += (first ? 0 : 1) + Buffer.byteLength(JSON.stringify(k), 'utf8') + 1 + exactSize(v);
    first = false;
  }
  SIZE.set(o, n);
  return n;
}

// ------------------------------------------------------------------ bounds
/** keys, punctuation and placeholders of every command field (counted in the upper bound only) */
const NUM = 24; // longest JSON number: -1.7976931348623157e+308
const LIMITS_MAX = jsonByteSize({
  max_task_executions: 0, inline_max_bytes: 0, preview_max_bytes: 0, hydrate_max_bytes: 0, reference_first: false, default_timeout_s: 0,
}) + 6 * NUM;
const FIXED = jsonByteSize({
  v: 1, command_id: null, type: 'iteration', execution_id: null, root_execution_id: null, parent_execution_id: null, step: null,
  step_run_id: null, iteration: null, playbook: { catalog_id: null, path: null, name: null, version: null, digest: null }, pipeline: null,
  base_spec: null, step_input: null,
  context: { globals: null, workload: null, ctx: null, args: null, steps: null, parent_iter: null },
  keychain: null, limits: null, step_output: null, deadline: null, pool: null, issued_at: null,
}) + LIMITS_MAX;
const ITER_FIXED = jsonByteSize({ loop_id: null, iteration_id: null, index: null, total: null, iterator: null, item: null, item_ref: null, first: false, last: false }) + 2 * NUM;
const VIEW_FIXED = jsonByteSize({ status: 'cancelled', data: null, ref: null, extracted: null, step_run_id: null, completed_at: null, runs: null, error: null, http_result: false, http_items: false }) + NUM;

// [lower, upper] bound accumulator of a JSON size: module-level (synchronous, single-threaded;
// no allocation per command)
let LO = 0;
let HI = 0;

/** a short string: at least 1 byte per UTF-16 unit, at most 6 (`\u001f`), plus quotes */
function str(s: string | undefined): void {
  if (s === undefined) return;
  LO += s.length + 2;
  HI += s.length * 6 + 2;
}

function exact(n: number): void {
  LO += n;
  HI += n;
}

/**
 * Any value. Objects: the cached exact size if known, else a walk of at most WALK_BUDGET nodes
 * (small fresh objects such as run args or small step results: no serialization, no cache entry),
 * else the exact size, cached (large objects are long-lived state). Long strings exact.
 */
function value(v: unknown): void {
  switch (typeof v) {
    case 'string':
      if (v.length > 256) exact(exactSize(v));
      else str(v);
      return;
    case 'number':
      LO += 1;
      HI += NUM;
      return;
    case 'object': {
      if (v === null) {
        exact(4);
        return;
      }
      const known = SIZE.get(v);
      if (known !== undefined) {
        exact(known);
        return;
      }
      const lo = LO;
      const hi = HI;
      budget = WALK_BUDGET;
      if (walk(v)) return;
      LO = lo;
      HI = hi;
      exact(sizeOf(v));
      return;
    }
    case 'undefined':
      return;
    default:
      exact(exactSize(v));
  }
}

const WALK_BUDGET = 32;
let budget = 0;

/** adds the bounds of a JSON value; false when the budget ran out (or a value needs toJSON) */
function walk(v: unknown): boolean {
  if (--budget < 0) return false;
  switch (typeof v) {
    case 'string':
      if (v.length > 256) return false;
      str(v);
      return true;
    case 'number':
      LO += 1;
      HI += NUM;
      return true;
    case 'boolean':
      LO += 4;
      HI += 5;
      return true;
    case 'object': {
      if (v === null) {
        exact(4);
        return true;
      }
      if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return false;
      exact(2);
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          const x: unknown = v[i];
          HI += 1; // comma
          if (x === undefined || typeof x === 'function' || typeof x === 'symbol') exact(4); // null
          else if (!walk(x)) return false;
        }
        return true;
      }
      for (const k of Object.keys(v)) {
        const x = (v as Record<string, unknown>)[k];
        if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue; // dropped
        str(k);
        LO += 1; // colon
        HI += 2; // colon, comma
        if (!walk(x)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/**
 * [lo, hi] of a `context.steps` object, added to LO/HI. O(views), one cached lookup or a small
 * walk per result; cached per object only when there are many views (the views of a loop are
 * shared by its iterations; a WeakMap insertion per command would cost more than the few views of
 * a typical step).
 */
const VIEWS = new WeakMap<object, [number, number]>();
const CACHE_VIEWS_FROM = 16;
function views(steps: Record<string, StepView>): void {
  const cached = VIEWS.get(steps);
  if (cached) {
    LO += cached[0];
    HI += cached[1];
    return;
  }
  const lo = LO;
  const hi = HI;
  HI += 2;
  let n = 0;
  for (const name in steps) {
    const v = steps[name];
    n += 1;
    str(name);
    HI += VIEW_FIXED + 1;
    str(v.status);
    str(v.step_run_id);
    str(v.completed_at);
    value(v.data);
    value(v.ref);
    value(v.extracted);
    value(v.error);
  }
  if (n >= CACHE_VIEWS_FROM) VIEWS.set(steps, [LO - lo, HI - hi]);
}

/** Exact size of the static per-step parts (pipeline, base_spec, step_input, step_output, keychain). */
export function staticSize(cmd: Command): number {
  return sizeOf(cmd.pipeline) + sizeOf(cmd.base_spec) + exactSize(cmd.step_input) + exactSize(cmd.step_output) + sizeOf(cmd.keychain);
}

/** [lower, upper] bound of `jsonByteSize(cmd)` into LO/HI; `staticBytes` = staticSize(cmd). */
function bounds(cmd: Command, staticBytes: number): void {
  LO = staticBytes;
  HI = staticBytes + FIXED;
  str(cmd.command_id);
  str(cmd.execution_id);
  str(cmd.root_execution_id);
  str(cmd.parent_execution_id);
  str(cmd.step);
  str(cmd.step_run_id);
  str(cmd.pool);
  str(cmd.issued_at);
  str(cmd.deadline);
  const pb = cmd.playbook;
  str(pb.catalog_id);
  str(pb.path);
  str(pb.name);
  value(pb.version);
  str(pb.digest);
  const c = cmd.context;
  exact(sizeOf(c.globals)); // one object per execution: cached
  exact(mappingSize(c.workload));
  exact(mappingSize(c.ctx));
  value(c.args);
  value(c.parent_iter);
  views(c.steps);
  const it = cmd.iteration;
  if (it) {
    HI += ITER_FIXED;
    str(it.loop_id);
    str(it.iteration_id);
    str(it.iterator);
    value(it.item);
    value(it.item_ref);
  }
}

/** [lower, upper] bound of `jsonByteSize(cmd)` (exported for tests). */
export function sizeBounds(cmd: Command, staticBytes: number): [number, number] {
  bounds(cmd, staticBytes);
  return [LO, HI];
}

// ------------------------------------------------------------------ externalization
type Section = 'workload' | 'ctx' | 'steps';
interface Candidate {
  section: Section;
  key: string;
  value: unknown;
  size: number;
}

/**
 * One path segment for a key: kept as is when it is a short plain name, else sanitized (as
 * externalizeCtx does) plus a digest of the original, so two keys never share an object.
 */
function segment(key: string): string {
  const safe = key.replace(/[^A-Za-z0-9._-]/g, '_');
  if (safe === key && key.length > 0 && key.length <= 80 && !/^\.+$/.test(key)) return key;
  return `${safe.slice(0, 80)}-${sha256Hex(key).slice(0, 12)}`;
}

/** id relative to the execution (`<exec>/r/3.0` -> `r_3.0`), one segment */
function relId(id: string, exec: string): string {
  return (id.startsWith(`${exec}/`) ? id.slice(exec.length + 1) : id).replace(/[^A-Za-z0-9._-]/g, '_');
}

/**
 * Object key of a value, deterministic from what the value is, so reprocessing an input or
 * re-publishing a command (T4.1 `pendingCommands`) stores the same objects, and every command of
 * an execution shares one object per value instead of one copy per command:
 * - workload (immutable for the execution): `cmd/workload/<key>`;
 * - a step's data (fixed once the run that produced the view ended): `cmd/steps/<step>/<step_run_id>`;
 * - a ctx value (changes over time): `cmd/ctx/<key>/<sha256 of its JSON, 32 hex>`.
 */
function entityOf(x: Candidate, exec: string, view?: StepView): string {
  if (x.section === 'workload') return `cmd/workload/${segment(x.key)}`;
  if (x.section === 'steps' && view?.step_run_id) return `cmd/steps/${segment(x.key)}/${relId(view.step_run_id, exec)}`;
  return `cmd/${x.section}/${segment(x.key)}/${sha256Hex(JSON.stringify(x.value) ?? 'null').slice(0, 32)}`;
}

interface Stored {
  store: StoreValue;
  exec: string;
  /** `<section>/<key>[/<step_run_id>]` the object was stored for */
  slot: string;
  ref: ResultRef;
}
/** object values already stored (no re-hash, no re-write for the next command that carries them) */
const BY_OBJECT = new WeakMap<object, Stored>();
/** recently stored entities (string values), bounded */
const RECENT = new Map<string, Stored>();
const RECENT_MAX = 256;

function storeOnce(store: StoreValue, exec: string, x: Candidate, view: StepView | undefined): ResultRef {
  // what the entity derives from besides the content: the key (and for a step, its run)
  const slot = view ? `${x.section}/${x.key}/${view.step_run_id ?? ''}` : `${x.section}/${x.key}`;
  const obj = typeof x.value === 'object' && x.value !== null ? x.value : undefined;
  if (obj) {
    const s = BY_OBJECT.get(obj);
    if (s && s.store === store && s.exec === exec && s.slot === slot) return s.ref;
  }
  const entity = entityOf(x, exec, view);
  const id = `${exec}\n${entity}`;
  const recent = obj ? undefined : RECENT.get(id);
  if (recent && recent.store === store) return recent.ref;
  const ref = store({ executionId: exec, entity }, x.value);
  const stored: Stored = { store, exec, slot, ref };
  if (obj) BY_OBJECT.set(obj, stored);
  else {
    if (RECENT.size >= RECENT_MAX) RECENT.delete(RECENT.keys().next().value as string);
    RECENT.set(id, stored);
  }
  return ref;
}

function collect(out: Candidate[], section: 'workload' | 'ctx', o: Record<string, unknown>): void {
  for (const key of Object.keys(o)) {
    const value = o[key];
    if (value === undefined || value === null || isResultRef(value)) continue;
    if (typeof value !== 'object' && typeof value !== 'string') continue;
    const size = exactSize(value);
    if (size >= MIN_EXTERNALIZE_BYTES) out.push({ section, key, value, size });
  }
}

function assemble(cmd: Command, workload: Record<string, unknown>, ctx: Record<string, unknown>, steps: Record<string, StepView>): Command {
  const c = cmd.context;
  if (workload === c.workload && ctx === c.ctx && steps === c.steps) return cmd;
  return { ...cmd, context: { globals: c.globals, workload, ctx, args: c.args, steps, parent_iter: c.parent_iter } };
}

/**
 * The command itself when it fits `max` bytes (or nothing can be stored); else a copy whose
 * largest `context.workload` / `context.ctx` / `context.steps` values are ResultRefs, largest
 * first, until it fits or nothing is left to externalize. Never mutates `cmd` or its parts.
 * `staticBytes` = staticSize(cmd), cached by the caller per step.
 */
export function fitCommand(cmd: Command, staticBytes: number, max: number, store: StoreValue): Command {
  bounds(cmd, staticBytes);
  if (HI <= max) return cmd; // the hot path: a few cached lookups and additions
  let lo = LO;
  let hi = HI;
  if (lo <= max) {
    hi = lo = jsonByteSize(cmd);
    if (hi <= max) return cmd;
  }
  const c = cmd.context;
  const cands: Candidate[] = [];
  collect(cands, 'workload', c.workload);
  collect(cands, 'ctx', c.ctx);
  for (const key of Object.keys(c.steps)) {
    const v = c.steps[key];
    if (v.data === undefined || v.data === null || v.ref) continue;
    const size = exactSize(v.data);
    if (size >= MIN_EXTERNALIZE_BYTES) cands.push({ section: 'steps', key, value: v.data, size });
  }
  if (cands.length === 0) return cmd;
  cands.sort((x, y) => y.size - x.size); // stable: ties keep workload, ctx, steps and key order

  const exec = cmd.execution_id;
  let workload = c.workload;
  let ctx = c.ctx;
  let steps = c.steps;
  for (const x of cands) {
    if (hi <= max) break;
    if (lo <= max) {
      // within the slack of the bounds: decide on the exact size
      hi = lo = jsonByteSize(assemble(cmd, workload, ctx, steps));
      if (hi <= max) break;
    }
    const view = x.section === 'steps' ? steps[x.key] : undefined;
    const ref = storeOnce(store, exec, x, view);
    const refSize = sizeOf(ref);
    if (refSize >= x.size) continue;
    let delta = x.size - refSize;
    if (x.section === 'workload') {
      if (workload === c.workload) workload = { ...workload };
      setOwn(workload, x.key, ref);
    } else if (x.section === 'ctx') {
      if (ctx === c.ctx) ctx = { ...ctx };
      setOwn(ctx, x.key, ref);
    } else {
      if (steps === c.steps) steps = { ...steps };
      // the view of a step result stored by reference (what the worker's StepResults reads)
      const nv: StepView = { ...view! };
      delete nv.data;
      nv.ref = ref;
      setOwn(steps, x.key, nv);
      delta += 1; // `"data":` -> `"ref":`
    }
    lo -= delta;
    hi -= delta;
  }
  return assemble(cmd, workload, ctx, steps);
}
