/**
 * loadPlaybook: text -> diagnostics + (when there are no errors) the frozen NormalizedPlaybook.
 * Pure: no file system, no clock, never throws.
 */
import type { Diagnostic } from '@noetl/common';
import { DEFAULT_TOOL_KINDS } from './codes';
import { NormContext } from './context';
import { DiagnosticSink } from './diagnostic-sink';
import { streamingDigest } from './digest';
import type { DigestShape } from './digest';
import { analyzeGraph } from './graph';
import type { NormalizedPlaybook, Step, Task } from './model';
import { normalizeRoot } from './normalize';
import { TemplateAnalyzer } from './templates';
import { validateReferences, validateTemplates } from './validate';
import { DEFAULT_LIMITS, SourceIndex, parseYamlSource } from './yaml-source';
import type { ParseOptions } from './yaml-source';

export interface LoadOptions {
  /** file name carried by every diagnostic */
  file?: string;
  /** accept legacy shape L tasks and legacy `next` lists/strings (R4.1, R11.1) */
  compat?: boolean;
  /** unknown root keys are errors (R2.6) */
  strict?: boolean;
  /** tool kinds this deployment supports (default DEFAULT_TOOL_KINDS) */
  toolKinds?: readonly string[];
  /** input larger than this is rejected without parsing (default 5 MiB) */
  maxBytes?: number;
}

export interface LoadResult {
  /** no error diagnostics */
  ok: boolean;
  /** present iff ok */
  playbook?: NormalizedPlaybook;
  /** errors and warnings, in source order */
  diagnostics: Diagnostic[];
}

export function loadPlaybook(text: string, opts: LoadOptions = {}): LoadResult {
  return loadPlaybookWith(text, opts, {});
}

/** @internal loadPlaybook with parser options; tests use `{ fast: false }` to compare both YAML paths. */
export function loadPlaybookWith(text: string, opts: LoadOptions, parseOpts: ParseOptions): LoadResult {
  try {
    return load(text, opts, parseOpts);
  } catch (e) {
    // a bug, never user error: still data, never a stack trace
    const d: Diagnostic = {
      code: 'E_INTERNAL', severity: 'error', line: 1, column: 1, path: '',
      message: `internal validator failure: ${e instanceof Error ? e.message : String(e)}`,
    };
    if (opts.file !== undefined) d.file = opts.file;
    return { ok: false, diagnostics: [d] };
  }
}

function load(text: string, opts: LoadOptions, parseOpts: ParseOptions): LoadResult {
  const limits = { ...DEFAULT_LIMITS, maxBytes: opts.maxBytes ?? DEFAULT_LIMITS.maxBytes };
  const parsed = parseYamlSource(text, limits, parseOpts);
  if (parsed.issues.length > 0) {
    const sink = new DiagnosticSink(new SourceIndex(), opts.file);
    for (const i of parsed.issues) sink.report('E_YAML', i.path, i.message, { line: i.line, column: i.column });
    return { ok: false, diagnostics: sink.items };
  }
  const sink = new DiagnosticSink(parsed.index, opts.file);
  const ctx = new NormContext(sink, {
    compat: opts.compat === true,
    strict: opts.strict === true,
    toolKinds: new Set(opts.toolKinds ?? DEFAULT_TOOL_KINDS),
  });
  const analyzer = new TemplateAnalyzer();
  const { draft, facts, entryPath } = normalizeRoot(ctx, parsed.value);
  let playbook: NormalizedPlaybook | undefined;
  if (draft) {
    validateReferences(ctx, draft, facts, entryPath);
    validateTemplates(ctx, analyzer);
    const graph = analyzeGraph(draft.steps, draft.executor.entry_step, analyzer);
    const hasEntry = draft.steps.some((s) => s.name === draft.executor.entry_step);
    if (hasEntry) {
      const unreachable = new Set(graph.unreachable);
      const reported = new Set<string>();
      for (const f of facts) {
        if (f.name === undefined || !unreachable.has(f.name) || reported.has(f.name)) continue;
        reported.add(f.name);
        sink.report('W_UNREACHABLE_STEP', f.path, `step \`${f.name}\` is not reachable from the entry step \`${draft.executor.entry_step}\``);
      }
    }
    playbook = { ...draft, graph, digest: '' };
  }
  const diagnostics = sortDiagnostics(sink.items);
  const ok = !diagnostics.some((d) => d.severity === 'error');
  if (!ok || !playbook) return { ok: false, diagnostics };
  playbook.digest = streamingDigest(playbook, PLAYBOOK_SHAPE);
  return { ok: true, playbook: deepFreeze(playbook), diagnostics };
}

function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return ds
    .map((d, i) => ({ d, i }))
    .sort((a, b) => a.d.line - b.d.line || a.d.column - b.d.column || a.i - b.i)
    .map((x) => x.d);
}

/**
 * What withoutLocs drops, as a shape for the digest: the root's `digest` and the `loc` of every
 * step, task (also a workbook's resolved task), policy rule, arc and admission rule; user data
 * named `loc` is kept. Hashing with it equals `digestOf(withoutLocs(pb))` (digest.spec.ts) without
 * copying the playbook.
 */
const NO_LOC: DigestShape = { omit: 'loc' };
const TASK_SHAPE: DigestShape = { omit: 'loc', keys: { policy: { keys: { rules: { items: NO_LOC } } } } };
(TASK_SHAPE.keys as Record<string, DigestShape>).workbook = { keys: { task: TASK_SHAPE } };
const PLAYBOOK_SHAPE: DigestShape = {
  omit: 'digest',
  keys: {
    steps: {
      items: {
        omit: 'loc',
        keys: {
          tasks: { items: TASK_SHAPE },
          next: { keys: { arcs: { items: NO_LOC } } },
          admit: { keys: { rules: { items: NO_LOC } } },
        },
      },
    },
  },
};

/** The playbook without `digest` and without the model's `loc` fields (user data named `loc` is kept). */
export function withoutLocs(pb: NormalizedPlaybook): unknown {
  const task = (t: Task): Task => {
    const { loc: _loc, ...rest } = t;
    const out: Task = { ...rest };
    if (t.policy) out.policy = { ...t.policy, rules: t.policy.rules.map(({ loc: _l, ...r }) => r) };
    if (t.workbook) out.workbook = { ...t.workbook, task: task(t.workbook.task) };
    return out;
  };
  const step = (s: Step): Step => {
    const { loc: _loc, ...rest } = s;
    const out: Step = { ...rest, tasks: s.tasks.map(task), next: { ...s.next, arcs: s.next.arcs.map(({ loc: _l, ...a }) => a) } };
    if (s.admit) out.admit = { ...s.admit, rules: s.admit.rules.map(({ loc: _l, ...r }) => r) };
    return out;
  };
  const { digest: _d, ...rest } = pb;
  return { ...rest, steps: pb.steps.map(step) };
}

function deepFreeze<T>(v: T): T {
  if (v === null || typeof v !== 'object' || Object.isFrozen(v)) return v;
  Object.freeze(v);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (x !== null && typeof x === 'object') deepFreeze(x);
    }
  } else {
    for (const k in v) {
      const x: unknown = (v as Record<string, unknown>)[k];
      if (x !== null && typeof x === 'object') deepFreeze(x);
    }
  }
  return v;
}
