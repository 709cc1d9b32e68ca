// Helpers shared by the spec files (not exported from the lib's front door).
import { compileExpression, renderTemplate, scopeFromObject, type RenderOptions } from './index';
import { compileTemplate } from './api';

/** typed render of a template */
export function r(src: string, vars: Record<string, unknown> = {}, opts?: RenderOptions): unknown {
  return renderTemplate(src, scopeFromObject(vars), opts);
}

/** string render of a template */
export function rs(src: string, vars: Record<string, unknown> = {}, opts?: RenderOptions): string {
  return compileTemplate(src).renderString(scopeFromObject(vars), opts);
}

/** evaluate a bare expression (undefined stays undefined) */
export function ev(expr: string, vars: Record<string, unknown> = {}, opts?: RenderOptions): unknown {
  return compileExpression(expr).evaluate(scopeFromObject(vars), opts);
}

/** capture the error thrown by fn */
export function err(fn: () => unknown): Error & Record<string, unknown> {
  try {
    fn();
  } catch (e) {
    return e as Error & Record<string, unknown>;
  }
  throw new Error('expected an error, none thrown');
}
