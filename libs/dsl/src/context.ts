/**
 * State shared by the normalizers: options, the diagnostic sink, every template-bearing string
 * found (with its path, for positioned template diagnostics) and per-step facts for the
 * cross-reference checks of validate.ts.
 */
import { isPlainObject } from '@noetl/common';
import type { DiagnosticSink, ReportOptions } from './diagnostic-sink';
import type { WorkbookEntry } from './model';
import { pathIndex, pathKey } from './paths';
import { isTemplate } from './templates';

export interface NormalizeOptions {
  compat: boolean;
  strict: boolean;
  toolKinds: ReadonlySet<string>;
}

/** A string the engine will render (R12.1) or evaluate as a condition (R6.2). */
export interface TemplateSite {
  text: string;
  path: string;
  /** a `when` without template syntax: a bare expression */
  expr: boolean;
  /** R2.12: `keychain` may not be referenced here */
  noKeychain: boolean;
}

export interface TaskFact {
  name: string;
  /** path of the task mapping (or of the step for a routing-only step) */
  path: string;
  synthetic: boolean;
}

export interface StepFacts {
  index: number;
  path: string;
  name?: string;
  namePath?: string;
  tasks: TaskFact[];
  /** jump targets: `to` value and its path */
  jumps: Array<{ to: string; path: string }>;
  /** arc targets: value and path of the arc's `step` scalar */
  arcs: Array<{ target: string; path: string }>;
  /** ctx.* targets written by task-level / policy `set` blocks (R9.16) */
  ctxWrites: Array<{ target: string; path: string }>;
  parallel: boolean;
  ctxMerge: boolean;
}

export function newStepFacts(index: number, path: string): StepFacts {
  return { index, path, tasks: [], jumps: [], arcs: [], ctxWrites: [], parallel: false, ctxMerge: false };
}

export interface WorkbookSlot {
  entry: WorkbookEntry;
  path: string;
  /** the entry's tool passed its own checks (single object, not itself kind workbook) */
  usable: boolean;
}

export class NormContext {
  readonly sites: TemplateSite[] = [];
  readonly workbook = new Map<string, WorkbookSlot>();
  private quiet = 0;

  constructor(
    readonly sink: DiagnosticSink,
    readonly opts: NormalizeOptions,
  ) {}

  report(code: string, path: string, message: string, opts?: ReportOptions): void {
    this.sink.report(code, path, message, opts);
  }

  get isQuiet(): boolean {
    return this.quiet > 0;
  }

  /** Build something without diagnostics or template registration (derived objects). */
  quietly<T>(fn: () => T): T {
    this.quiet++;
    try {
      return this.sink.quietly(fn);
    } finally {
      this.quiet--;
    }
  }

  /** Register every template string leaf of `value` (mapping keys are not templates). */
  templates(value: unknown, path: string, noKeychain: boolean): void {
    if (this.quiet > 0) return;
    if (typeof value === 'string') {
      if (isTemplate(value)) this.sites.push({ text: value, path, expr: false, noKeychain });
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => this.templates(v, pathIndex(path, i), noKeychain));
    } else if (isPlainObject(value)) {
      for (const [k, v] of Object.entries(value)) this.templates(v, pathKey(path, k), noKeychain);
    }
  }

  /** Register a `when` string (template or bare expression). Conditions never see keychain. */
  condition(value: string, path: string): void {
    if (this.quiet > 0) return;
    this.sites.push({ text: value, path, expr: !isTemplate(value), noKeychain: true });
  }

  /** E_FIELD_TYPE helper: report and return false when `value` is not a mapping. */
  expectMap(value: unknown, path: string, what: string, code = 'E_FIELD_TYPE'): value is Record<string, unknown> {
    if (isPlainObject(value)) return true;
    this.report(code, path, `${what} must be a mapping, got ${describe(value)}`, { atKey: true });
    return false;
  }
}

export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (isPlainObject(value)) return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  return `${typeof value} ${String(value)}`;
}

/** Object without undefined-valued properties (the model must round-trip through JSON exactly). */
export function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k];
  return o;
}
