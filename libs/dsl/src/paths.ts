/**
 * Diagnostic paths (dsl R17.1): `workflow[2].next.arcs[1]`. Keys that are not simple names are
 * written JSON-quoted in brackets (`set["ctx.total"]`) so that every node has exactly one path.
 */
const SIMPLE_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function pathKey(parent: string, key: string): string {
  if (SIMPLE_KEY.test(key)) return parent === '' ? key : `${parent}.${key}`;
  return `${parent}[${JSON.stringify(key)}]`;
}

export function pathIndex(parent: string, i: number): string {
  return `${parent}[${i}]`;
}

/** `pathOf('workflow', 2, 'tool')` — mixed keys and indices. */
export function pathOf(...parts: Array<string | number>): string {
  let p = '';
  for (const part of parts) p = typeof part === 'number' ? pathIndex(p, part) : pathKey(p, part);
  return p;
}
