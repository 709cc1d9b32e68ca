/**
 * Root document (§2): apiVersion, kind, metadata, keychain, executor, workload, workbook, workflow.
 * Produces the model without `graph`/`digest` plus the per-step facts validate.ts needs.
 */
import { isPlainObject } from '@noetl/common';
import { RESERVED_ROOT_NAMES, isIdentifier } from './codes';
import type { NormContext, StepFacts } from './context';
import { compact, describe } from './context';
import type { ExecutorPolicy, KeychainEntry, NormalizedPlaybook, PlaybookMetadata, Step, WorkbookEntry } from './model';
import { rejectDirectives } from './normalize-policy';
import { normalizeStep } from './normalize-step';
import { normalizeTask } from './normalize-task';
import { pathIndex, pathKey } from './paths';

export type DraftPlaybook = Omit<NormalizedPlaybook, 'graph' | 'digest'>;

export interface NormalizeResult {
  draft?: DraftPlaybook;
  facts: StepFacts[];
  /** paths for entry-step diagnostics */
  entryPath: string;
}

const ROOT_KEYS = new Set(['apiVersion', 'kind', 'metadata', 'keychain', 'executor', 'workload', 'workflow', 'workbook']);
const KEYCHAIN_KINDS = new Set(['secrets', 'credential', 'oauth2', 'bearer', 'static', 'google_id_token']);
const RESERVED = new Set(RESERVED_ROOT_NAMES);

export function normalizeRoot(ctx: NormContext, raw: unknown): NormalizeResult {
  if (!isPlainObject(raw)) {
    ctx.report('E_ROOT_FIELD', '', `a playbook must be a YAML mapping, got ${describe(raw)}`);
    return { facts: [], entryPath: '' };
  }
  for (const k of Object.keys(raw)) {
    if (ROOT_KEYS.has(k)) continue;
    if (k === 'vars') {
      ctx.report('E_ROOT_VARS', 'vars', 'root `vars` is not supported', { atKey: true, hint: 'put defaults in workload; write runtime values with set: {ctx.<name>: ...}' });
    } else {
      ctx.report('W_UNKNOWN_ROOT_KEY', pathKey('', k), `unknown root key \`${k}\` ${ctx.opts.strict ? 'rejected (strict mode)' : 'ignored'}`, {
        atKey: true, severity: ctx.opts.strict ? 'error' : 'warning',
      });
    }
  }
  const api = raw.apiVersion;
  if (api !== 'noetl.io/v2' && api !== 'noetl.io/v10') {
    ctx.report('E_ROOT_FIELD', 'apiVersion' in raw ? 'apiVersion' : '', `apiVersion must be noetl.io/v2, got ${describe(api)}`);
  }
  if (raw.kind !== 'Playbook') ctx.report('E_ROOT_FIELD', 'kind' in raw ? 'kind' : '', `kind must be Playbook, got ${describe(raw.kind)}`);
  const metadata = normalizeMetadata(ctx, raw.metadata, 'metadata' in raw);
  const keychain = normalizeKeychain(ctx, raw.keychain);
  const executor = normalizeExecutor(ctx, raw.executor);
  const workload = normalizeWorkload(ctx, raw.workload);
  const workbook = normalizeWorkbook(ctx, raw.workbook);

  const facts: StepFacts[] = [];
  const steps: Step[] = [];
  const wf = raw.workflow;
  if (!Array.isArray(wf) || wf.length === 0) {
    ctx.report('E_ROOT_FIELD', 'workflow' in raw ? 'workflow' : '', `workflow must be a non-empty list of steps, got ${describe(wf)}`);
  } else {
    wf.forEach((s, i) => {
      const r = normalizeStep(ctx, s, i, executor.no_next_is_error);
      facts.push(r.facts);
      if (r.step) steps.push(r.step);
    });
  }
  const entryPath = isPlainObject(raw.executor) && isPlainObject(raw.executor.spec) && 'entry_step' in raw.executor.spec
    ? 'executor.spec.entry_step'
    : 'workflow' in raw ? 'workflow' : '';
  const draft: DraftPlaybook = {
    apiVersion: 'noetl.io/v2', kind: 'Playbook', metadata, keychain, executor, workload, steps, workbook,
  };
  return { draft, facts, entryPath };
}

function normalizeMetadata(ctx: NormContext, raw: unknown, present: boolean): PlaybookMetadata {
  const md: PlaybookMetadata = { name: '', path: '' };
  if (!present || !isPlainObject(raw)) {
    ctx.report('E_ROOT_FIELD', present ? 'metadata' : '', present ? `metadata must be a mapping, got ${describe(raw)}` : 'metadata is required (at least metadata.name)');
    return md;
  }
  for (const [k, v] of Object.entries(raw)) if (k !== 'name' && k !== 'path') md[k] = v;
  if (typeof raw.name !== 'string' || raw.name.trim() === '') {
    ctx.report('E_ROOT_FIELD', 'name' in raw ? 'metadata.name' : 'metadata', `metadata.name must be a non-empty string, got ${describe(raw.name)}`);
  } else {
    md.name = raw.name;
  }
  if ('path' in raw && raw.path !== null) {
    if (typeof raw.path === 'string' && raw.path.trim() !== '') md.path = raw.path;
    else ctx.report('E_FIELD_TYPE', 'metadata.path', `metadata.path must be a non-empty string, got ${describe(raw.path)}`);
  }
  if (!md.path) md.path = md.name;
  if ('version' in raw && raw.version !== null && typeof raw.version !== 'string' && typeof raw.version !== 'number') {
    ctx.report('E_FIELD_TYPE', 'metadata.version', `metadata.version must be a string or a number, got ${describe(raw.version)}`);
  }
  if ('description' in raw && raw.description !== null && typeof raw.description !== 'string') {
    ctx.report('E_FIELD_TYPE', 'metadata.description', `metadata.description must be a string, got ${describe(raw.description)}`);
  }
  if ('labels' in raw && raw.labels !== null) {
    if (!isPlainObject(raw.labels)) {
      ctx.report('E_FIELD_TYPE', 'metadata.labels', `metadata.labels must be a mapping of strings, got ${describe(raw.labels)}`);
    } else {
      const labels: Record<string, string> = {};
      for (const [k, v] of Object.entries(raw.labels)) {
        if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') labels[k] = String(v);
        else ctx.report('E_FIELD_TYPE', pathKey('metadata.labels', k), `label values must be strings, got ${describe(v)}`);
      }
      md.labels = labels;
    }
  }
  if ('tags' in raw && raw.tags !== null) {
    if (!Array.isArray(raw.tags)) {
      ctx.report('E_FIELD_TYPE', 'metadata.tags', `metadata.tags must be a list of strings, got ${describe(raw.tags)}`);
    } else {
      md.tags = raw.tags.map((t, i) => {
        if (typeof t !== 'string' && typeof t !== 'number' && typeof t !== 'boolean') {
          ctx.report('E_FIELD_TYPE', pathIndex('metadata.tags', i), `tags must be strings, got ${describe(t)}`);
        }
        return String(t);
      });
    }
  }
  return md;
}

function normalizeKeychain(ctx: NormContext, raw: unknown): KeychainEntry[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    ctx.report('E_FIELD_TYPE', 'keychain', `keychain must be a list of entries, got ${describe(raw)}`);
    return [];
  }
  const out: KeychainEntry[] = [];
  const seen = new Set<string>();
  raw.forEach((e, i) => {
    const p = pathIndex('keychain', i);
    if (!isPlainObject(e)) {
      ctx.report('E_KEYCHAIN_ENTRY', p, `a keychain entry must be a mapping, got ${describe(e)}`);
      return;
    }
    let ok = true;
    if (!isIdentifier(e.name) || e.name === '__proto__') {
      ctx.report('E_KEYCHAIN_ENTRY', 'name' in e ? pathKey(p, 'name') : p, `keychain name must be an identifier, got ${describe(e.name)}`);
      ok = false;
    } else if (seen.has(e.name)) {
      ctx.report('E_KEYCHAIN_ENTRY', p, `keychain entry \`${e.name}\` is declared more than once`);
      ok = false;
    }
    let kind = e.kind;
    if (kind === 'secret_manager') kind = 'secrets';
    if (typeof kind !== 'string' || !KEYCHAIN_KINDS.has(kind)) {
      ctx.report('E_KEYCHAIN_ENTRY', 'kind' in e ? pathKey(p, 'kind') : p, `keychain kind must be one of ${[...KEYCHAIN_KINDS].join(', ')}, got ${describe(e.kind)}`);
      ok = false;
    }
    let scope: KeychainEntry['scope'] = 'global';
    if ('scope' in e && e.scope !== null) {
      if (e.scope === 'global' || e.scope === 'local' || e.scope === 'shared') scope = e.scope;
      else {
        ctx.report('E_KEYCHAIN_ENTRY', pathKey(p, 'scope'), `keychain scope must be global | local | shared, got ${describe(e.scope)}`);
        ok = false;
      }
    }
    const fields: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(e)) {
      if (k === 'name' || k === 'kind' || k === 'scope') continue;
      fields[k] = v;
      ctx.templates(v, pathKey(p, k), false);
    }
    if (typeof e.name === 'string') seen.add(e.name);
    if (ok) out.push({ name: e.name as string, kind: kind as string, scope, fields });
  });
  return out;
}

const LIMIT_KEYS = ['loop_max_in_flight', 'max_task_executions', 'max_step_runs', 'max_loop_items', 'max_event_bytes', 'ctx_value_inline_max_bytes', 'hydrate_max_bytes'] as const;

function normalizeExecutor(ctx: NormContext, raw: unknown): NormalizedPlaybook['executor'] {
  const ex: NormalizedPlaybook['executor'] = { spec: {}, policy: {}, entry_step: 'start', pool: 'default', no_next_is_error: false };
  if (raw === undefined || raw === null) return ex;
  if (!ctx.expectMap(raw, 'executor', '`executor`')) return ex;
  for (const k of Object.keys(raw)) {
    if (!['profile', 'kind', 'version', 'requires', 'spec'].includes(k)) {
      ctx.report('W_UNKNOWN_FIELD', pathKey('executor', k), `unknown executor field \`${k}\` ignored`, { atKey: true });
    }
  }
  const profile = raw.profile ?? raw.kind;
  if (profile !== undefined && profile !== null) {
    if (typeof profile === 'string') ex.profile = profile;
    else ctx.report('E_FIELD_TYPE', 'profile' in raw ? 'executor.profile' : 'executor.kind', `executor profile must be a string, got ${describe(profile)}`);
  }
  if (isPlainObject(raw.requires) && Array.isArray(raw.requires.tools)) {
    raw.requires.tools.forEach((t, i) => {
      if (typeof t !== 'string' || !ctx.opts.toolKinds.has(t)) {
        ctx.report('E_UNKNOWN_TOOL_KIND', pathIndex('executor.requires.tools', i), `required tool kind ${describe(t)} is not supported by this deployment`);
      }
    });
  }
  if (!('spec' in raw) || raw.spec === null) return ex;
  if (!ctx.expectMap(raw.spec, 'executor.spec', 'executor `spec`')) return ex;
  for (const [k, v] of Object.entries(raw.spec)) {
    const kp = pathKey('executor.spec', k);
    if (k === 'policy') {
      ex.policy = executorPolicy(ctx, v, kp);
      continue;
    }
    ex.spec[k] = v;
    if (k === 'entry_step') {
      if (typeof v === 'string' && v !== '') ex.entry_step = v;
      else ctx.report('E_FIELD_TYPE', kp, `entry_step must be a step name, got ${describe(v)}`);
    } else if (k === 'pool') {
      if (typeof v === 'string' && v !== '') ex.pool = v;
      else ctx.report('E_FIELD_TYPE', kp, `pool must be a non-empty string, got ${describe(v)}`);
    } else if (k === 'no_next_is_error') {
      if (typeof v === 'boolean') ex.no_next_is_error = v;
      else ctx.report('E_FIELD_TYPE', kp, `no_next_is_error must be a boolean, got ${describe(v)}`);
    } else {
      ctx.templates(v, kp, false);
    }
  }
  return ex;
}

function positive(ctx: NormContext, v: unknown, path: string, integer: boolean): number | undefined {
  if (typeof v === 'number' && v > 0 && (!integer || Number.isInteger(v))) return v;
  ctx.report('E_FIELD_VALUE', path, `expected a positive ${integer ? 'integer' : 'number'}, got ${describe(v)}`);
  return undefined;
}

function executorPolicy(ctx: NormContext, raw: unknown, path: string): ExecutorPolicy {
  const pol: ExecutorPolicy = {};
  if (!ctx.expectMap(raw, path, 'executor policy', 'E_POLICY_SHAPE')) return pol;
  rejectDirectives(ctx, raw, path, 'the executor policy');
  const section = (k: string): Record<string, unknown> | undefined => {
    const v = raw[k];
    if (v === undefined || v === null) return undefined;
    return ctx.expectMap(v, pathKey(path, k), `policy.${k}`) ? v : undefined;
  };
  const unknown = (sec: Record<string, unknown>, sp: string, allowed: readonly string[]) => {
    for (const k of Object.keys(sec)) if (!allowed.includes(k) && k !== 'do') ctx.report('W_UNKNOWN_FIELD', pathKey(sp, k), `unknown field \`${k}\` ignored`, { atKey: true });
  };
  for (const k of Object.keys(raw)) {
    if (!['defaults', 'results', 'limits', 'failure', 'lifecycle', 'do'].includes(k)) {
      ctx.report('W_UNKNOWN_FIELD', pathKey(path, k), `unknown executor policy field \`${k}\` ignored`, { atKey: true });
    }
  }
  const d = section('defaults');
  if (d) {
    unknown(d, pathKey(path, 'defaults'), ['timeout_s']);
    pol.defaults = compact({ timeout_s: 'timeout_s' in d ? positive(ctx, d.timeout_s, pathKey(pathKey(path, 'defaults'), 'timeout_s'), false) : undefined });
  }
  const r = section('results');
  if (r) {
    const rp = pathKey(path, 'results');
    unknown(r, rp, ['reference_first', 'inline_max_bytes', 'preview_max_bytes', 'store']);
    const res: NonNullable<ExecutorPolicy['results']> = {};
    if ('reference_first' in r) {
      if (typeof r.reference_first === 'boolean') res.reference_first = r.reference_first;
      else ctx.report('E_FIELD_TYPE', pathKey(rp, 'reference_first'), `reference_first must be a boolean, got ${describe(r.reference_first)}`);
    }
    for (const k of ['inline_max_bytes', 'preview_max_bytes'] as const) {
      if (!(k in r)) continue;
      const v = r[k];
      if (typeof v === 'number' && Number.isInteger(v) && v >= 0) res[k] = v;
      else ctx.report('E_FIELD_VALUE', pathKey(rp, k), `${k} must be a non-negative integer, got ${describe(v)}`);
    }
    if ('store' in r) res.store = r.store;
    pol.results = res;
  }
  const l = section('limits');
  if (l) {
    const lp = pathKey(path, 'limits');
    unknown(l, lp, LIMIT_KEYS);
    const lim: NonNullable<ExecutorPolicy['limits']> = {};
    for (const k of LIMIT_KEYS) if (k in l) lim[k] = positive(ctx, l[k], pathKey(lp, k), true);
    pol.limits = compact(lim);
  }
  const f = section('failure');
  if (f) {
    unknown(f, pathKey(path, 'failure'), ['on_unhandled']);
    pol.failure = {};
    if ('on_unhandled' in f) {
      if (f.on_unhandled === 'drain' || f.on_unhandled === 'cancel') pol.failure.on_unhandled = f.on_unhandled;
      else ctx.report('E_FIELD_VALUE', pathKey(pathKey(path, 'failure'), 'on_unhandled'), `on_unhandled must be drain | cancel, got ${describe(f.on_unhandled)}`);
    }
  }
  const lc = section('lifecycle');
  if (lc) {
    unknown(lc, pathKey(path, 'lifecycle'), ['timeout_s']);
    pol.lifecycle = compact({ timeout_s: 'timeout_s' in lc ? positive(ctx, lc.timeout_s, pathKey(pathKey(path, 'lifecycle'), 'timeout_s'), false) : undefined });
  }
  return pol;
}

function normalizeWorkload(ctx: NormContext, raw: unknown): Record<string, unknown> {
  if (raw === undefined || raw === null) return {};
  if (!ctx.expectMap(raw, 'workload', '`workload`')) return {};
  for (const [k, v] of Object.entries(raw)) {
    const kp = pathKey('workload', k);
    if (RESERVED.has(k)) {
      ctx.report('W_WORKLOAD_KEY_SHADOWED', kp, `workload key \`${k}\` is a reserved root name; read it as workload.${k}`, { atKey: true });
    }
    // workload is rendered by the scheduler at start, where keychain values never exist (R2.12, R2.16)
    ctx.templates(v, kp, true);
  }
  return raw;
}

function normalizeWorkbook(ctx: NormContext, raw: unknown): Record<string, WorkbookEntry> {
  const out: Record<string, WorkbookEntry> = {};
  if (raw === undefined || raw === null) return out;
  const add = (name: unknown, tool: unknown, p: string, toolPath: string, extra: Partial<WorkbookEntry>) => {
    if (typeof name !== 'string' || name === '' || name === '__proto__') {
      ctx.report('E_WORKBOOK_ENTRY', p, `a workbook entry needs a name, got ${describe(name)}`);
      return;
    }
    if (ctx.workbook.has(name)) {
      ctx.report('E_WORKBOOK_ENTRY', p, `workbook entry \`${name}\` is defined more than once`);
      return;
    }
    let usable = true;
    if (!isPlainObject(tool)) {
      ctx.report('E_WORKBOOK_ENTRY', toolPath, `a workbook entry's tool must be a single tool object, got ${describe(tool)}`);
      usable = false;
    } else if (tool.kind === 'workbook') {
      ctx.report('E_WORKBOOK_ENTRY', pathKey(toolPath, 'kind'), 'a workbook entry cannot itself be kind: workbook (no recursion)');
      usable = false;
    } else {
      normalizeTask(ctx, tool, toolPath, name, { shapeA: true });
    }
    const entry: WorkbookEntry = compact({ name, tool: isPlainObject(tool) ? tool : {}, ...extra });
    out[name] = entry;
    ctx.workbook.set(name, { entry, path: toolPath, usable });
  };
  if (Array.isArray(raw)) {
    raw.forEach((e, i) => {
      const p = pathIndex('workbook', i);
      if (!isPlainObject(e)) {
        ctx.report('E_WORKBOOK_ENTRY', p, `a workbook entry must be a mapping {name, tool}, got ${describe(e)}`);
        return;
      }
      for (const k of Object.keys(e)) {
        if (!['name', 'tool', 'desc', 'assert'].includes(k)) ctx.report('W_UNKNOWN_FIELD', pathKey(p, k), `unknown workbook entry field \`${k}\` ignored`, { atKey: true });
      }
      add(e.name, e.tool, p, pathKey(p, 'tool'), entryExtras(ctx, e, p));
    });
  } else if (isPlainObject(raw) && isPlainObject(raw.tasks)) {
    for (const k of Object.keys(raw)) if (k !== 'tasks') ctx.report('W_UNKNOWN_FIELD', pathKey('workbook', k), `unknown workbook field \`${k}\` ignored`, { atKey: true });
    for (const [name, tool] of Object.entries(raw.tasks)) {
      const p = pathKey('workbook.tasks', name);
      add(name, tool, p, p, {});
    }
  } else {
    ctx.report('E_WORKBOOK_ENTRY', 'workbook', `workbook must be a list of {name, tool} or a mapping {tasks: {<name>: <tool>}}, got ${describe(raw)}`);
  }
  return out;
}

function entryExtras(ctx: NormContext, e: Record<string, unknown>, p: string): Partial<WorkbookEntry> {
  const extra: Partial<WorkbookEntry> = {};
  if (typeof e.desc === 'string') extra.desc = e.desc;
  if (isPlainObject(e.assert)) {
    const a: WorkbookEntry['assert'] = {};
    for (const k of ['expects', 'returns'] as const) {
      const v = e.assert[k];
      if (v === undefined || v === null) continue;
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) a[k] = v as string[];
      else ctx.report('E_FIELD_TYPE', pathKey(pathKey(p, 'assert'), k), `assert.${k} must be a list of key names, got ${describe(v)}`);
    }
    extra.assert = a;
  } else if (e.assert !== undefined && e.assert !== null) {
    ctx.report('E_FIELD_TYPE', pathKey(p, 'assert'), `assert must be a mapping {expects, returns}, got ${describe(e.assert)}`);
  }
  return extra;
}
