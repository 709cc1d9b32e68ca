import type { NormalizedPlaybook, Step } from '@noetl/dsl';
import type { Limits } from './types';

/** Engine defaults of runtime.md §8.10. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  loop_max_in_flight: 32,
  max_task_executions: 100_000,
  max_step_runs: 100_000,
  max_loop_items: 1_000_000,
  max_event_bytes: 900_000,
  ctx_value_inline_max_bytes: 65_536,
  hydrate_max_bytes: 8 * 1024 * 1024,
  worker_hydrate_max_bytes: 64 * 1024 * 1024,
  inline_max_bytes: 102_400,
  preview_max_bytes: 1_024,
  cancel_grace_s: 30,
});

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** defaults <- deployment <- `executor.spec.policy.limits` (hydrate_max_bytes of the playbook bounds both sides). */
export function effectiveLimits(playbook: NormalizedPlaybook, deployment: Partial<Limits> = {}): Limits {
  const out: Limits = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(deployment)) if (num(v) !== undefined) (out as unknown as Record<string, number>)[k] = v as number;
  const pl = playbook.executor.policy.limits ?? {};
  for (const [k, v] of Object.entries(pl)) {
    if (num(v) === undefined) continue;
    (out as unknown as Record<string, number>)[k] = v as number;
    if (k === 'hydrate_max_bytes') out.worker_hydrate_max_bytes = v as number;
  }
  return out;
}

/** Read limits back from `execution.started.limits` (replay path), filling gaps with the defaults. */
export function limitsFromRecord(rec: Record<string, number> | undefined): Limits {
  const out: Limits = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(rec ?? {})) if (num(v) !== undefined && k in out) (out as unknown as Record<string, number>)[k] = v;
  return out;
}

function resultOpt(spec: unknown, key: 'inline_max_bytes' | 'preview_max_bytes'): number | undefined {
  if (spec === null || typeof spec !== 'object') return undefined;
  const r = (spec as Record<string, unknown>).result;
  if (r === null || typeof r !== 'object') return undefined;
  return num((r as Record<string, unknown>)[key]);
}

/**
 * T7.7 precedence for the step result: step `output:` (T7.15), then the layered `spec.result`
 * of loop, step and executor spec, then `executor.spec.policy.results`, then the deployment default.
 */
export function stepResultLimit(playbook: NormalizedPlaybook, step: Step, key: 'inline_max_bytes' | 'preview_max_bytes', limits: Limits): number {
  return (
    num(step.output?.[key]) ??
    resultOpt(step.loop?.spec, key) ??
    resultOpt(step.spec, key) ??
    resultOpt(playbook.executor.spec, key) ??
    num(playbook.executor.policy.results?.[key]) ??
    limits[key]
  );
}
