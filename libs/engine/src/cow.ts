/**
 * Copy-on-write sessions: the engine's state is immutable from the outside (`processEvent` never
 * changes its input, old states stay valid), but one input folds several events, and copying the
 * state and its maps once per fold step made the copies the largest cost of a step. Inside a
 * session, `own(x)` copies `x` the first time and returns the copy — which the session may then
 * mutate in place — on every later call. Objects reachable from the input state are never in
 * the session, so they are never mutated. Outside a session `own` always copies (plain
 * immutable updates), so every helper is correct either way.
 *
 * Single-threaded and synchronous: a session never spans an `await`.
 */
let session: Set<object> | null = null;

/** Run `fn` in a copy-on-write session (re-entrant: an inner call joins the outer session). */
export function cowSession<T>(fn: () => T): T {
  if (session !== null) return fn();
  session = new Set();
  try {
    return fn();
  } finally {
    session = null;
  }
}

/** A shallow copy of `obj` that the current session owns (`obj` itself if it already does). */
export function own<T extends object>(obj: T): T {
  if (session !== null && session.has(obj)) return obj;
  const copy = (Array.isArray(obj) ? obj.slice() : { ...obj }) as T;
  if (session !== null) session.add(copy);
  return copy;
}

/**
 * `own` for one kind of object: `copy` is a module-level function per kind, so each spread site
 * sees one object shape (a spread at a site that sees many shapes takes V8's slow generic path,
 * which was the largest single cost of a bookkeeping event).
 */
export function ownWith<T extends object>(obj: T, copy: (x: T) => T): T {
  if (session !== null && session.has(obj)) return obj;
  const c = copy(obj);
  if (session !== null) session.add(c);
  return c;
}

/** Mark a freshly built object as owned, so later `own` calls in this session do not copy it. */
export function adopt<T extends object>(obj: T): T {
  if (session !== null) session.add(obj);
  return obj;
}
