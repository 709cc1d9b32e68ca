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
let session: Array<object | null> | null = null;
/** number of owned objects in `session` (the slots past it are null) */
let count = 0;
let sessionSet: Set<object> | null = null;
const SET_AFTER = 48;
/**
 * The array reused by every session (sessions do not nest: see beginSession). Its slots are
 * nulled at the end instead of `length = 0`, which would free the backing store and make every
 * session grow it again.
 */
const slots: Array<object | null> = [];

function owned(obj: object): boolean {
  if (sessionSet !== null) return sessionSet.has(obj);
  const s = session as Array<object | null>;
  for (let i = count - 1; i >= 0; i--) if (s[i] === obj) return true;
  return false;
}

function addOwned(obj: object): void {
  if (sessionSet !== null) {
    sessionSet.add(obj);
    return;
  }
  const s = session as Array<object | null>;
  if (count < s.length) s[count] = obj;
  else s.push(obj);
  count++;
  if (count > SET_AFTER) {
    const set = new Set<object>();
    for (let i = 0; i < count; i++) set.add(s[i] as object);
    sessionSet = set;
  }
}

/**
 * Open a copy-on-write session unless one is open. Returns whether it opened one: only then must
 * the caller `endSession()` (in a `finally`). For hot callers, which `cowSession` would make
 * allocate a closure per call.
 */
export function beginSession(): boolean {
  if (session !== null) return false;
  session = slots;
  return true;
}

export function endSession(): void {
  const s = session as Array<object | null>;
  session = null;
  sessionSet = null;
  for (let i = 0; i < count; i++) s[i] = null; // drop the references: the objects belong to the returned state now
  count = 0;
}

/** Run `fn` in a copy-on-write session (re-entrant: an inner call joins the outer session). */
export function cowSession<T>(fn: () => T): T {
  if (!beginSession()) return fn();
  try {
    return fn();
  } finally {
    endSession();
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
