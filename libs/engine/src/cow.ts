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
/**
 * The objects the current session owns. An array searched linearly: a session owns a handful to a
 * few dozen objects, and a `Set` had to give each new object an identity hash (a hidden-class
 * transition and a hash-table insert per copy), which cost more than scanning a short array. A
 * session that grows past SET_AFTER objects moves to a Set.
 */
let session: object[] | null = null;
let sessionSet: Set<object> | null = null;
const SET_AFTER = 48;
/** a reused array for the common case (sessions do not nest: see cowSession) */
let spare: object[] = [];

function owned(obj: object): boolean {
  if (sessionSet !== null) return sessionSet.has(obj);
  const s = session as object[];
  for (let i = s.length - 1; i >= 0; i--) if (s[i] === obj) return true;
  return false;
}

function addOwned(obj: object): void {
  if (sessionSet !== null) {
    sessionSet.add(obj);
    return;
  }
  const s = session as object[];
  s.push(obj);
  if (s.length > SET_AFTER) sessionSet = new Set(s);
}

/** Run `fn` in a copy-on-write session (re-entrant: an inner call joins the outer session). */
export function cowSession<T>(fn: () => T): T {
  if (session !== null) return fn();
  const s = spare;
  spare = [];
  session = s;
  try {
    return fn();
  } finally {
    session = null;
    sessionSet = null;
    s.length = 0; // drop the references: the objects belong to the returned state now
    spare = s;
  }
}

/** A shallow copy of `obj` that the current session owns (`obj` itself if it already does). */
export function own<T extends object>(obj: T): T {
  if (session !== null && owned(obj)) return obj;
  const copy = (Array.isArray(obj) ? obj.slice() : { ...obj }) as T;
  if (session !== null) addOwned(copy);
  return copy;
}

/**
 * `own` for one kind of object: `copy` is a module-level function per kind, so each spread site
 * sees one object shape (a spread at a site that sees many shapes takes V8's slow generic path,
 * which was the largest single cost of a bookkeeping event).
 */
export function ownWith<T extends object>(obj: T, copy: (x: T) => T): T {
  if (session !== null && owned(obj)) return obj;
  const c = copy(obj);
  if (session !== null) addOwned(c);
  return c;
}

/** Mark a freshly built object as owned, so later `own` calls in this session do not copy it. */
export function adopt<T extends object>(obj: T): T {
  if (session !== null) addOwned(obj);
  return obj;
}
