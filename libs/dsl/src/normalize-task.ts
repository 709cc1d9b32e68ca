/**
 * `step.tool` -> the task pipeline (§4.2): the three shapes (plus shape L in compatibility mode),
 * synthetic names, task fields, legacy aliases (args, output/output_select, kind: playbook retry)
 * and workbook resolution (R15.2).
 */
import { deepMerge, isPlainObject } from '@noetl/common';
import { INTERNAL_TOOL_KINDS } from './codes';
import type { NormContext, StepFacts } from './context';
import { compact, describe } from './context';
import type { PolicyRule, ResultOptions, Task } from './model';
import { normalizeSet, normalizeTaskPolicy } from './normalize-policy';
import { pathIndex, pathKey } from './paths';

/** Tool fields per kind that are sometimes misplaced under `spec` (R4.8; tools.md §2, §4). */
const KIND_FIELDS: Record<string, readonly string[]> = {
  python: ['code', 'script', 'libs', 'env', 'timeout_seconds', 'auth', 'input', 'args'],
  postgres: ['auth', 'connection', 'command', 'query', 'sql', 'commands', 'command_b64', 'script', 'params', 'schema', 'transaction', 'timeout_seconds'],
  http: ['url', 'endpoint', 'method', 'headers', 'params', 'json', 'form', 'body', 'payload', 'data', 'timeout_seconds', 'verify_ssl', 'follow_redirects', 'response_type', 'auth'],
  duckdb: ['command', 'query', 'sql', 'commands', 'database', 'db_path', 'params', 'auth', 'extensions', 'timeout_seconds'],
  playbook: ['path', 'catalog_id', 'version', 'input', 'payload', 'args', 'ctx', 'return_step', 'wait'],
  workbook: ['entry', 'name', 'input'],
  artifact: ['action', 'ref', 'uri', 'input'],
  result_fetch: ['uri', 'input'],
  shell: ['cmds', 'command', 'shell', 'cwd', 'env', 'timeout_seconds'],
  noop: ['message'],
  nats: ['auth', 'url', 'operation', 'bucket', 'key', 'value', 'ttl', 'subject', 'stream', 'consumer', 'batch', 'timeout_ms', 'seq'],
};

/** Task keys that are not tool fields. */
const TASK_KEYS = new Set(['name', 'kind', 'desc', 'input', 'args', 'auth', 'spec', 'set', 'output', 'output_select', 'eval', 'expr']);

interface TaskOpts {
  /** Shape A single tool object: `name` of a workbook call is the entry, not the label */
  shapeA: boolean;
  facts?: StepFacts;
}

/** Normalize `step.tool` (absent -> the routing-only noop task). */
export function normalizeTool(
  ctx: NormContext, raw: unknown, present: boolean, stepName: string, stepPath: string, facts: StepFacts,
): Task[] {
  const toolPath = pathKey(stepPath, 'tool');
  if (!present) {
    const name = `${stepName}_task`;
    facts.tasks.push({ name, path: stepPath, synthetic: true });
    return [{ name, kind: 'noop', spec: {}, fields: {}, loc: ctx.sink.loc(stepPath) }];
  }
  if (isPlainObject(raw)) {
    if ('name' in raw && (typeof raw.name !== 'string' || raw.name.trim() === '')) {
      ctx.report('E_FIELD_TYPE', pathKey(toolPath, 'name'), `task name must be a non-empty string, got ${describe(raw.name)}`);
    }
    const explicit = raw.kind !== 'workbook' && typeof raw.name === 'string' && raw.name.trim() !== '' ? raw.name : undefined;
    const label = explicit ?? `${stepName}_task`;
    facts.tasks.push({ name: label, path: toolPath, synthetic: explicit === undefined });
    return [normalizeTask(ctx, raw, toolPath, label, { shapeA: true, facts })];
  }
  if (!Array.isArray(raw) || raw.length === 0) {
    ctx.report('E_FIELD_TYPE', toolPath, `tool must be a mapping (one task) or a non-empty list of tasks, got ${describe(raw)}`);
    return [];
  }
  const tasks: Task[] = [];
  raw.forEach((item, i) => {
    const p = pathIndex(toolPath, i);
    if (!isPlainObject(item)) {
      ctx.report('E_FIELD_TYPE', p, `a task must be a mapping, got ${describe(item)}`);
      return;
    }
    const keys = Object.keys(item);
    if (keys.length === 1 && !TASK_KEYS.has(keys[0]) && isPlainObject(item[keys[0]]) && 'kind' in (item[keys[0]] as object)) {
      const label = keys[0];
      if (!ctx.opts.compat) {
        ctx.report('E_LEGACY_LABELED_TASK', p, `label-as-key task \`${label}\` is not supported`, {
          hint: `write - name: ${label} followed by the task fields (or load in compatibility mode)`,
        });
        return;
      }
      ctx.report('W_LEGACY_LABELED_TASK', p, `label-as-key task \`${label}\` normalized to name: ${label}`);
      const inner = pathKey(p, label);
      facts.tasks.push({ name: label, path: inner, synthetic: false });
      tasks.push(normalizeTask(ctx, item[label] as Record<string, unknown>, inner, label, { shapeA: false, facts }));
      return;
    }
    let label = `task_${i}`;
    let synthetic = true;
    if ('name' in item) {
      if (typeof item.name === 'string' && item.name.trim() !== '') {
        label = item.name;
        synthetic = false;
      } else {
        ctx.report('E_FIELD_TYPE', pathKey(p, 'name'), `task name must be a non-empty string, got ${describe(item.name)}`);
      }
    }
    facts.tasks.push({ name: label, path: p, synthetic });
    tasks.push(normalizeTask(ctx, item, p, label, { shapeA: false, facts }));
  });
  return tasks;
}

/** Normalize one tool object into a Task labelled `label`. */
export function normalizeTask(ctx: NormContext, raw: Record<string, unknown>, path: string, label: string, opts: TaskOpts): Task {
  const kind = checkKind(ctx, raw, path);
  const task: Task = { name: label, kind: kind ?? '', spec: {}, fields: {}, loc: ctx.sink.loc(path, raw) };
  for (const k of ['eval', 'expr']) {
    if (k in raw) {
      ctx.report('E_LEGACY_EVAL', pathKey(path, k), `task field \`${k}\` is not supported`, {
        atKey: true, hint: 'use spec.policy.rules: [{when: ..., then: {do: ...}}]',
      });
    }
  }
  if ('desc' in raw) {
    if (typeof raw.desc === 'string') task.desc = raw.desc;
    else ctx.report('E_FIELD_TYPE', pathKey(path, 'desc'), `desc must be a string, got ${describe(raw.desc)}`);
  }
  if ('input' in raw && raw.input !== null) {
    if (ctx.expectMap(raw.input, pathKey(path, 'input'), 'task `input`')) {
      task.input = raw.input;
      ctx.templates(raw.input, pathKey(path, 'input'), false);
    }
  }
  const argsIsField = kind === 'container';
  if ('args' in raw && !argsIsField) {
    const ap = pathKey(path, 'args');
    if (task.input !== undefined || ('input' in raw && raw.input !== null)) {
      ctx.report('W_ARGS_ALIAS', ap, 'task has both `input` and legacy `args`; `input` wins', { atKey: true, hint: 'merge args into input' });
    } else if (raw.args !== null && ctx.expectMap(raw.args, ap, 'task `args`')) {
      task.input = raw.args;
      ctx.templates(raw.args, ap, false);
    }
  }
  if ('auth' in raw) {
    task.auth = raw.auth;
    ctx.templates(raw.auth, pathKey(path, 'auth'), false);
  }
  if ('spec' in raw && raw.spec !== null) normalizeTaskSpec(ctx, raw.spec, pathKey(path, 'spec'), kind, task, opts.facts);
  if ('set' in raw && raw.set !== null) task.set = normalizeSet(ctx, raw.set, pathKey(path, 'set'), 'task', opts.facts);
  const legacy = legacyResult(ctx, raw, path);
  if (legacy) task.spec.result = deepMerge(legacy, task.spec.result ?? {}) as ResultOptions;
  if (kind === 'playbook' && 'retry' in raw) legacyRetry(ctx, raw.retry, pathKey(path, 'retry'), task);

  for (const [k, v] of Object.entries(raw)) {
    if (TASK_KEYS.has(k) && !(k === 'args' && argsIsField)) continue;
    if (k === 'retry' && kind === 'playbook') continue;
    if (k === 'entry' && kind === 'workbook') continue;
    task.fields[k] = v;
    ctx.templates(v, pathKey(path, k), false);
  }
  if (kind === 'workbook') resolveWorkbook(ctx, raw, path, label, opts, task);
  return compact(task);
}

function checkKind(ctx: NormContext, raw: Record<string, unknown>, path: string): string | undefined {
  if (!('kind' in raw) || raw.kind === null) {
    ctx.report('E_TASK_KIND_MISSING', path, 'task has no `kind`', { hint: `add kind: one of ${[...ctx.opts.toolKinds].join(', ')}` });
    return undefined;
  }
  const kp = pathKey(path, 'kind');
  if (typeof raw.kind !== 'string' || raw.kind === '') {
    ctx.report('E_UNKNOWN_TOOL_KIND', kp, `tool kind must be a non-empty string, got ${describe(raw.kind)}`);
    return undefined;
  }
  const kind = raw.kind;
  if (INTERNAL_TOOL_KINDS.includes(kind)) {
    ctx.report('E_INTERNAL_TOOL_KIND', kp, `\`${kind}\` is an engine-internal kind`, {
      hint: kind === 'iterator' ? 'use a step-level loop: {in, iterator}' : 'list the tasks under step.tool',
    });
  } else if (!ctx.opts.toolKinds.has(kind)) {
    ctx.report('E_UNKNOWN_TOOL_KIND', kp, `tool kind \`${kind}\` is not supported by this deployment`, {
      hint: `supported kinds: ${[...ctx.opts.toolKinds].join(', ')}`,
    });
  }
  return kind;
}

function normalizeTaskSpec(
  ctx: NormContext, raw: unknown, path: string, kind: string | undefined, task: Task, facts: StepFacts | undefined,
): void {
  if (!ctx.expectMap(raw, path, 'task `spec`')) return;
  const fieldNames = kind ? KIND_FIELDS[kind] : undefined;
  for (const [k, v] of Object.entries(raw)) {
    const kp = pathKey(path, k);
    if (k === 'policy') {
      task.policy = normalizeTaskPolicy(ctx, v, kp, facts);
      continue;
    }
    if (fieldNames?.includes(k)) {
      ctx.report('W_TOOL_FIELD_UNDER_SPEC', kp, `\`spec.${k}\` looks like a ${kind} tool field; it is not hoisted and the tool will not see it`, {
        atKey: true, hint: `move ${k} up to the task, next to kind`,
      });
    }
    if (k === 'result') {
      const r = resultOptions(ctx, v, kp);
      if (r) task.spec.result = r;
      continue;
    }
    task.spec[k] = v;
    ctx.templates(v, kp, false);
  }
}

/** `spec.result`, step `output`, and the legacy task `output` mapping (runtime.md §7.6, T7.15). */
export function resultOptions(ctx: NormContext, raw: unknown, path: string): ResultOptions | undefined {
  if (!ctx.expectMap(raw, path, 'result options')) return undefined;
  const out: ResultOptions = {};
  for (const [k, v] of Object.entries(raw)) {
    const kp = pathKey(path, k);
    if (k === 'inline_max_bytes' || k === 'preview_max_bytes') {
      if (typeof v === 'number' && Number.isInteger(v) && v >= 0) out[k] = v;
      else ctx.report('E_FIELD_VALUE', kp, `${k} must be a non-negative integer, got ${describe(v)}`);
    } else if (k === 'store') {
      if (ctx.expectMap(v, kp, '`store`')) out.store = v;
    } else if (k === 'select' || k === 'output_select') {
      const sel = selectList(ctx, v, kp);
      if (sel) out.select = [...(out.select ?? []), ...sel];
    } else {
      ctx.report('W_UNKNOWN_FIELD', kp, `unknown result option \`${k}\` ignored`, { atKey: true });
    }
  }
  return out;
}

function selectList(ctx: NormContext, v: unknown, path: string): ResultOptions['select'] | undefined {
  const items = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(items)) {
    ctx.report('E_FIELD_TYPE', path, `select must be a list of field names or {path, as}, got ${describe(v)}`);
    return undefined;
  }
  const out: NonNullable<ResultOptions['select']> = [];
  items.forEach((it, i) => {
    if (typeof it === 'string' && it !== '') out.push(it);
    else if (isPlainObject(it) && typeof it.path === 'string' && typeof it.as === 'string') out.push({ path: it.path, as: it.as });
    else ctx.report('E_FIELD_TYPE', pathIndex(path, i), `select item must be a field name or {path, as}, got ${describe(it)}`);
  });
  return out;
}

function legacyResult(ctx: NormContext, raw: Record<string, unknown>, path: string): ResultOptions | undefined {
  let out: ResultOptions | undefined;
  if ('output' in raw && raw.output !== null) out = resultOptions(ctx, raw.output, pathKey(path, 'output'));
  if ('output_select' in raw && raw.output_select !== null) {
    const sel = selectList(ctx, raw.output_select, pathKey(path, 'output_select'));
    if (sel) out = { ...(out ?? {}), select: [...(out?.select ?? []), ...sel] };
  }
  return out;
}

const RETRY_ON_MAP: Record<string, string> = { timeout: 'timeout', connection_error: 'connection', child_failed: 'child_failed' };

/** tools.md K2.14: `kind: playbook` `retry: {max_attempts, retry_on, backoff}` -> a prepended policy rule. */
function legacyRetry(ctx: NormContext, raw: unknown, path: string, task: Task): void {
  if (!ctx.expectMap(raw, path, 'legacy `retry`')) return;
  let attempts = 3;
  if ('max_attempts' in raw) {
    const m = raw.max_attempts;
    if (typeof m === 'number' && Number.isInteger(m) && m >= 1) attempts = m;
    else ctx.report('E_FIELD_VALUE', pathKey(path, 'max_attempts'), `max_attempts must be an integer >= 1, got ${describe(m)}`);
  }
  let delay = 1;
  if ('backoff' in raw && raw.backoff !== null) {
    const b = raw.backoff;
    if (typeof b === 'number' && b >= 0) delay = b;
    else ctx.report('E_FIELD_VALUE', pathKey(path, 'backoff'), `retry backoff must be a number of seconds, got ${describe(b)}`);
  }
  let kinds: string[] | undefined;
  if ('retry_on' in raw && raw.retry_on !== null) {
    const r = typeof raw.retry_on === 'string' ? [raw.retry_on] : raw.retry_on;
    if (Array.isArray(r) && r.every((x) => typeof x === 'string')) kinds = (r as string[]).map((x) => RETRY_ON_MAP[x] ?? x);
    else ctx.report('E_FIELD_TYPE', pathKey(path, 'retry_on'), `retry_on must be a list of error kinds, got ${describe(raw.retry_on)}`);
  }
  const kindTest = kinds ? ` and output.error.kind in [${kinds.map((k) => `'${k.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`).join(', ')}]` : '';
  const rule: PolicyRule = {
    when: `{{ output.status == 'error'${kindTest} }}`,
    else: false,
    then: { do: 'retry', attempts, backoff: 'fixed', delay },
    loc: ctx.sink.loc(path, raw),
  };
  task.policy = { on_unmatched: task.policy?.on_unmatched ?? 'auto', rules: [rule, ...(task.policy?.rules ?? [])] };
}

/** R15.2: resolve a `kind: workbook` call into `task.workbook`. */
function resolveWorkbook(ctx: NormContext, raw: Record<string, unknown>, path: string, label: string, opts: TaskOpts, task: Task): void {
  const entryKey = 'entry' in raw ? 'entry' : 'name';
  const entry = raw[entryKey];
  if (typeof entry !== 'string' || entry === '') {
    ctx.report('E_UNKNOWN_WORKBOOK_ENTRY', entryKey in raw ? pathKey(path, entryKey) : path,
      `a workbook call names its entry with \`entry\` (or \`name\`), got ${describe(entry)}`);
    return;
  }
  const slot = ctx.workbook.get(entry);
  if (!slot) {
    const known = [...ctx.workbook.keys()].slice(0, 10);
    ctx.report('E_UNKNOWN_WORKBOOK_ENTRY', pathKey(path, entryKey), `workbook entry \`${entry}\` does not exist`, {
      hint: known.length ? `defined entries: ${known.join(', ')}` : 'the playbook defines no workbook',
    });
    return;
  }
  if (!slot.usable) return;
  const tool = slot.entry.tool;
  const callInput = 'input' in raw ? raw.input : 'args' in raw ? raw.args : undefined;
  const merged: Record<string, unknown> = { ...tool };
  const input = deepMerge(tool.input ?? undefined, callInput ?? undefined);
  if (input !== undefined) merged.input = input;
  const spec = deepMerge(tool.spec ?? undefined, raw.spec ?? undefined);
  if (spec !== undefined) merged.spec = spec;
  delete merged.args;
  const resolved = ctx.quietly(() => normalizeTask(ctx, merged, slot.path, label, { shapeA: opts.shapeA }));
  task.workbook = compact({
    entry,
    task: resolved,
    expects: slot.entry.assert?.expects,
    returns: slot.entry.assert?.returns,
  });
}
