// Per-render state shared by compiled closures, filters and globals.
import { limitFail } from './errors';

export interface Scope {
  lookup(name: string): unknown;
}

export interface RenderOptions {
  strict?: boolean;
  now?: () => Date;
  maxOutputBytes?: number;
  maxLoopSteps?: number;
}

export interface Frame {
  vars: Record<string, unknown>; // null-prototype object
  parent: Frame | null;
}

export const DEFAULT_MAX_OUTPUT_BYTES = 10 * 1024 * 1024;
export const DEFAULT_MAX_LOOP_STEPS = 1_000_000;

export class Ctx {
  steps = 0;
  frame: Frame | null = null;
  out = '';
  constructor(
    readonly scope: Scope,
    readonly strict: boolean,
    readonly nowFn: (() => Date) | undefined,
    readonly maxOut: number,
    readonly maxSteps: number,
  ) {}
}

export function makeCtx(scope: Scope, opts: RenderOptions | undefined): Ctx {
  if (opts === undefined) return new Ctx(scope, false, undefined, DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_MAX_LOOP_STEPS);
  return new Ctx(
    scope,
    opts.strict === true,
    opts.now,
    opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
    opts.maxLoopSteps ?? DEFAULT_MAX_LOOP_STEPS,
  );
}

/** Charge `n` units of loop work; throws (RuntimeFail 'limit') past the per-render budget. */
export function chargeSteps(c: Ctx, n: number): void {
  c.steps += n;
  if (c.steps > c.maxSteps) limitFail(`loop step limit exceeded (${c.maxSteps} iterations per render)`);
}

/** Throws when a produced string is longer than the output limit (UTF-16 units <= UTF-8 bytes). */
export function checkSize(c: Ctx, s: string): string {
  if (s.length > c.maxOut) limitFail(`output size limit exceeded (${c.maxOut} bytes)`);
  return s;
}
