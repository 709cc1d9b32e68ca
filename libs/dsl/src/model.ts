/**
 * The normalized playbook (dsl.md §4.2, §18): what the catalog stores and what the scheduler and
 * workers consume. Plain JSON-serializable data (commands carry parts of it), immutable by
 * convention (`loadPlaybook` deep-freezes it). Template strings are kept as written (after the
 * legacy rewrites of §18); they are compiled and cached by @noetl/template at use.
 */

/** Where a node came from in the source text (1-based), for runtime error messages. */
export interface SourceLoc {
  line: number;
  column: number;
  /** dotted path, e.g. `workflow[2].tool[1]` */
  path: string;
}

/** A `when` value (dsl R6.2): boolean, template string, or bare-expression string. */
export type Condition = boolean | string;

/** Where a `set` key lands (dsl R9.13), resolved by the catalog per location. */
export type SetScope = 'ctx' | 'iter' | 'step';

/** One assignment of a `set` block, in key order (R9.12). */
export interface SetEntry {
  /** the key as written, e.g. `ctx.stats.rows` or `fetched` */
  target: string;
  scope: SetScope;
  /** path below the scope, e.g. ['stats', 'rows'] */
  path: string[];
  /** template string, plain YAML value, or nested mapping/list whose string leaves are templates */
  value: unknown;
}
export type SetBlock = SetEntry[];

export type Directive = 'continue' | 'retry' | 'jump' | 'break' | 'fail';

export interface PolicyThen {
  do: Directive;
  set?: SetBlock;
  /** retry: max total attempts including the first (default 3) */
  attempts?: number | string;
  /** retry: default `fixed` (R8.8) */
  backoff?: 'none' | 'fixed' | 'linear' | 'exponential';
  /** retry: base delay in seconds; number or template (default 1.0) */
  delay?: number | string;
  /** retry: cap in seconds (default 300) */
  max_delay?: number | string;
  /** jump: task name, or `previous` (aliases normalized to `previous`) */
  to?: string;
}

export interface PolicyRule {
  /** undefined for the `else` rule */
  when?: Condition;
  else: boolean;
  then: PolicyThen;
  loc?: SourceLoc;
}

export interface TaskPolicy {
  on_unmatched: 'auto' | 'continue' | 'fail';
  rules: PolicyRule[];
}

/** Result storage options (runtime.md §7.6), from `spec.result` or the legacy `output`/`output_select`. */
export interface ResultOptions {
  inline_max_bytes?: number;
  preview_max_bytes?: number;
  store?: Record<string, unknown>;
  select?: Array<string | { path: string; as: string }>;
}

export interface Task {
  name: string;
  kind: string;
  desc?: string;
  /** task `input` (legacy `args` normalized into it, R4.6); values are templates */
  input?: Record<string, unknown>;
  /** `auth` as written (string template or mapping) */
  auth?: unknown;
  /** task spec WITHOUT `policy` (R5.3); merged by the worker over kind defaults and base_spec */
  spec: Record<string, unknown>;
  policy?: TaskPolicy;
  /** task-level set (R8.10), bare keys -> scope `step` */
  set?: SetBlock;
  /** every other field of the tool (url, method, code, command, result, message, path, ...); templates */
  fields: Record<string, unknown>;
  /** kind: workbook — the resolved entry (R15.2) */
  workbook?: {
    entry: string;
    /** the entry's tool as a Task: caller's label, entry kind, input/spec deep-merged (call wins) */
    task: Task;
    expects?: string[];
    returns?: string[];
  };
  loc?: SourceLoc;
}

export interface AdmitRule {
  when?: Condition;
  else: boolean;
  allow: boolean;
  loc?: SourceLoc;
}
export interface AdmitPolicy {
  mode: 'exclusive' | 'inclusive';
  rules: AdmitRule[];
}

export interface Loop {
  /** `loop.in` as written (template string or literal list/mapping) */
  in?: unknown;
  cursor?: Record<string, unknown>;
  iterator: string;
  mode: 'sequential' | 'parallel' | 'cursor';
  /** int or template; undefined -> limits.loop_max_in_flight in parallel mode (R10.6) */
  max_in_flight?: number | string;
  /** loop.spec without policy/mode/max_in_flight (merged into base_spec) */
  spec: Record<string, unknown>;
  exec: 'distributed' | 'local';
  ctx_merge?: 'last_write_wins';
  /** `loop.spec.iteration_timeout_s`: deadline of each iteration, from its dispatch (runtime.md T8.13, MAY) */
  iteration_timeout_s?: number;
}

export interface Arc {
  /** 0-based position in `next.arcs` */
  index: number;
  /** target step name (may be the `end` sentinel when no such step exists) */
  step: string;
  when?: Condition;
  /** R11.4: the `when` references `event` -> considered on step.failed; all others are success-only */
  failure_aware: boolean;
  set?: SetBlock;
  /** token inscription; values are templates */
  args?: Record<string, unknown>;
  /** false for the `end` sentinel: fires into nothing (R3.8) */
  target_defined: boolean;
  /** runtime.md §8.3: this->target is a back-edge */
  back_edge: boolean;
  loc?: SourceLoc;
}

export interface Router {
  mode: 'exclusive' | 'inclusive';
  on_no_match: 'complete' | 'quiet' | 'fail';
  arcs: Arc[];
}

export interface Step {
  name: string;
  desc?: string;
  /** step spec WITHOUT `policy` (R5.3) — contributes to base_spec */
  spec: Record<string, unknown>;
  /** spec.policy.admit */
  admit?: AdmitPolicy;
  /** spec.policy.lifecycle.timeout_s (R16.5) */
  timeout_s?: number;
  /** spec.policy.failure.mode (loops, §10.6); default fail_fast */
  failure_mode: 'fail_fast' | 'best_effort';
  /** step `input` (R9.8); templates rendered by the worker once per step run */
  input?: Record<string, unknown>;
  loop?: Loop;
  /** the pipeline, never empty (routing-only step -> one noop task `<step>_task`) */
  tasks: Task[];
  /** step-level set (R9.14); bare/step. keys -> ctx */
  set?: SetBlock;
  /** step `output:` result options for the step result (T7.15) */
  output?: ResultOptions;
  next: Router;
  loc?: SourceLoc;
}

export interface KeychainEntry {
  name: string;
  kind: string;
  scope: 'global' | 'local' | 'shared';
  /** every other field as written (templates allowed, R2.11) */
  fields: Record<string, unknown>;
}

export interface WorkbookEntry {
  name: string;
  /** the entry's single tool object (raw mapping as written) */
  tool: Record<string, unknown>;
  desc?: string;
  assert?: { expects?: string[]; returns?: string[] };
}

/** Static graph analysis (runtime.md §8.3), computed once per playbook version. */
export interface GraphAnalysis {
  entry: string;
  /**
   * every arc edge u->t whose target is a defined step. Reach(s) (steps reachable from s by one or
   * more edges) is not stored: a chain of n steps has n²/2 entries. Back-edges, joins and
   * unreachable steps are derived without it; the engine asks its own questions (T8.5 joins).
   */
  edges: Array<{ from: string; to: string; arc: number; back_edge: boolean }>;
  /** forward (non-back-edge) upstream steps of each step */
  forward_upstreams: Record<string, string[]>;
  /** steps with >= 2 distinct forward upstreams */
  joins: string[];
  /** per step: step names its scheduler- and worker-side templates reference (for shipping context, T4.1) */
  step_refs: Record<string, { steps: string[]; dynamic: boolean }>;
  /** steps not reachable from the entry */
  unreachable: string[];
}

export interface PlaybookMetadata {
  name: string;
  path: string;
  version?: string | number;
  description?: string;
  labels?: Record<string, string>;
  tags?: string[];
  [key: string]: unknown;
}

/** executor.spec.policy, normalized. */
export interface ExecutorPolicy {
  defaults?: { timeout_s?: number };
  results?: { reference_first?: boolean; inline_max_bytes?: number; preview_max_bytes?: number; store?: unknown };
  limits?: {
    loop_max_in_flight?: number;
    max_task_executions?: number;
    max_step_runs?: number;
    max_loop_items?: number;
    max_event_bytes?: number;
    ctx_value_inline_max_bytes?: number;
    hydrate_max_bytes?: number;
  };
  failure?: { on_unhandled?: 'drain' | 'cancel' };
  lifecycle?: { timeout_s?: number };
}

export interface NormalizedPlaybook {
  apiVersion: 'noetl.io/v2';
  kind: 'Playbook';
  metadata: PlaybookMetadata;
  keychain: KeychainEntry[];
  executor: {
    profile?: string;
    /** executor.spec WITHOUT policy — the outermost base_spec layer */
    spec: Record<string, unknown>;
    policy: ExecutorPolicy;
    entry_step: string;
    pool: string;
    no_next_is_error: boolean;
  };
  workload: Record<string, unknown>;
  /** steps in document order */
  steps: Step[];
  workbook: Record<string, WorkbookEntry>;
  graph: GraphAnalysis;
  /** `sha256:<hex>` of the canonical JSON of this object without `digest` and without `loc` fields */
  digest: string;
}
