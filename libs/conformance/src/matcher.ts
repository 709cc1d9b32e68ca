import type { CaseExpectation } from './case-file';

/**
 * The document `noetl run --json` prints (conformance README), seen structurally: the matcher
 * only reads these fields. A rejected playbook has `status: 'invalid'` and `diagnostics`.
 */
export interface RunDocument {
  execution_id?: string;
  status: string;
  error?: object | null;
  ctx?: object;
  steps?: Record<string, { status?: string; runs?: number; result?: unknown }>;
  events?: ReadonlyArray<object>;
  diagnostics?: ReadonlyArray<object>;
}

const MAX_SHOWN = 160;

/** JSON text of a value for a failure reason, shortened. */
export function show(v: unknown): string {
  if (v === undefined) return 'undefined';
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > MAX_SHOWN ? `${s.slice(0, MAX_SHOWN - 3)}...` : s;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/**
 * Subset match of the conformance README: every key of `expected` must be present in `actual`
 * with an equal value; objects recurse (extra actual keys are fine); arrays must have the same
 * length and match element by element; numbers compare by value, strings exactly; a missing key
 * never equals `null`. Returns one message per mismatch (empty = match), each prefixed by `path`.
 */
export function subsetMismatches(expected: unknown, actual: unknown, path = '$'): string[] {
  if (isObj(expected)) {
    if (!isObj(actual)) return [`${path}: expected an object, got ${kindOf(actual)} ${show(actual)}`];
    const out: string[] = [];
    for (const [k, ev] of Object.entries(expected)) {
      const p = `${path}.${k}`;
      if (!Object.prototype.hasOwnProperty.call(actual, k) || actual[k] === undefined) {
        out.push(`${p}: missing (expected ${show(ev)})`);
        continue;
      }
      out.push(...subsetMismatches(ev, actual[k], p));
    }
    return out;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${path}: expected an array, got ${kindOf(actual)} ${show(actual)}`];
    if (actual.length !== expected.length) {
      return [`${path}: expected an array of length ${expected.length}, got length ${actual.length} ${show(actual)}`];
    }
    return expected.flatMap((ev, i) => subsetMismatches(ev, actual[i], `${path}[${i}]`));
  }
  if (expected === null) {
    return actual === null ? [] : [`${path}: expected null, got ${show(actual)}`];
  }
  if (typeof expected === 'number') {
    // numbers by value: 1 equals 1.0 (JSON has one number type; this also covers -0/0)
    return typeof actual === 'number' && actual === expected ? [] : [`${path}: expected ${show(expected)}, got ${show(actual)}`];
  }
  if (typeof expected === 'string' || typeof expected === 'boolean') {
    return actual === expected ? [] : [`${path}: expected ${show(expected)}, got ${show(actual)}`];
  }
  return [`${path}: unsupported expected value ${show(expected)}`];
}

/** true when `actual` subset-matches `expected`. */
export function subsetMatches(expected: unknown, actual: unknown): boolean {
  return subsetMismatches(expected, actual).length === 0;
}

/** Count of events that subset-match `match`. */
export function countMatchingEvents(events: ReadonlyArray<object>, match: Record<string, unknown>): number {
  let n = 0;
  for (const e of events) if (subsetMatches(match, e)) n++;
  return n;
}

function isOnlyRunsZero(exp: Record<string, unknown>): boolean {
  const keys = Object.keys(exp);
  return keys.length === 1 && keys[0] === 'runs' && exp.runs === 0;
}

/**
 * Applies an expectation to a run document. Returns the reasons it fails (empty = pass). Rules
 * (conformance README, applied exactly):
 * - `status` equal; `error` / `ctx` / `steps.NAME` subset match;
 * - `steps.NAME: {runs: 0}` alone: the step was never scheduled (absent, or `runs: 0`, and no
 *   `step.scheduled` event for it);
 * - `order`: the steps' first `step.done` events appear in that order (a loop step, which has no
 *   `step.done`, is placed by its first `loop.done`);
 * - `events`: the number of events subset-matching `match` equals `count`;
 * - `diagnostics`: each expected diagnostic subset-matches at least one actual diagnostic.
 */
export function checkRun(expect: CaseExpectation, doc: RunDocument): string[] {
  const reasons: string[] = [];
  if (doc.status !== expect.status) {
    let why = `status: expected ${expect.status}, got ${doc.status}`;
    const diags = (doc.diagnostics ?? []) as ReadonlyArray<Record<string, unknown>>;
    if (doc.status === 'invalid' && diags.length) {
      why += ` (${diags.slice(0, 3).map((d) => `${String(d.code)}@${String(d.line)}:${String(d.column)} ${String(d.message)}`).join('; ')})`;
    } else if (doc.error) {
      why += ` (error ${show(doc.error)})`;
    }
    reasons.push(why);
  }
  if ('error' in expect) {
    if (expect.error === null) {
      if (doc.error !== null) reasons.push(`error: expected null, got ${show(doc.error)}`);
    } else if (expect.error !== undefined) {
      if (doc.error == null) reasons.push(`error: expected ${show(expect.error)}, got ${show(doc.error ?? null)}`);
      else reasons.push(...subsetMismatches(expect.error, doc.error, 'error'));
    }
  }
  if (expect.ctx !== undefined) reasons.push(...subsetMismatches(expect.ctx, doc.ctx, 'ctx'));

  const events = (doc.events ?? []) as ReadonlyArray<Record<string, unknown>>;
  if (expect.steps) {
    const steps = doc.steps ?? {};
    for (const [name, exp] of Object.entries(expect.steps)) {
      const actual = Object.prototype.hasOwnProperty.call(steps, name) ? steps[name] : undefined;
      if (isOnlyRunsZero(exp)) {
        const scheduled = countMatchingEvents(events, { event_type: 'step.scheduled', step: name });
        const runs = actual?.runs ?? 0;
        if (runs !== 0 || scheduled !== 0) {
          reasons.push(`steps.${name}: expected never scheduled, got runs ${runs} (${scheduled} step.scheduled events)`);
        }
        continue;
      }
      if (actual === undefined) {
        reasons.push(`steps.${name}: missing from the run's steps (expected ${show(exp)})`);
        continue;
      }
      reasons.push(...subsetMismatches(exp, actual, `steps.${name}`));
    }
  }

  if (expect.order) {
    const firstDone = (step: string): number => {
      let i = events.findIndex((e) => e.event_type === 'step.done' && e.step === step);
      if (i < 0) i = events.findIndex((e) => e.event_type === 'loop.done' && e.step === step);
      return i;
    };
    let prev: { step: string; at: number } | null = null;
    for (const step of expect.order) {
      const at = firstDone(step);
      if (at < 0) {
        reasons.push(`order: step ${step} has no step.done event`);
        prev = null;
        continue;
      }
      if (prev && at <= prev.at) {
        reasons.push(`order: first step.done of ${step} (event #${at}) is not after ${prev.step} (event #${prev.at})`);
      }
      prev = { step, at };
    }
  }

  for (const ec of expect.events ?? []) {
    const n = countMatchingEvents(events, ec.match);
    if (n !== ec.count) reasons.push(`events ${show(ec.match)}: expected count ${ec.count}, got ${n}`);
  }

  if (expect.diagnostics) {
    const actual = (doc.diagnostics ?? []) as ReadonlyArray<Record<string, unknown>>;
    for (const d of expect.diagnostics) {
      if (!actual.some((a) => subsetMatches(d, a))) {
        const got = actual.length ? actual.map((a) => `${String(a.code)}@${String(a.line)}:${String(a.column)}`).join(', ') : 'none';
        reasons.push(`diagnostics: expected ${show(d)} not found (got ${got})`);
      }
    }
  }
  return reasons;
}
