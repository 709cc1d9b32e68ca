/**
 * A persistent string-keyed map that is plain JSON: a hash trie (32-way nodes are arrays, leaves
 * are plain objects of at most LEAF_MAX keys, empty slots null). An update copies the path from
 * the root to one leaf — O(log32 n) nodes of 32 slots plus a leaf of ≤ 16 keys — so a step
 * record update costs the same at 1,000 steps as at 100,000. (The earlier fixed 64-bucket layout
 * copied n/64 keys per update: at 5,000 steps that copy and its garbage were a third of a chain
 * step.) The shape depends only on the keys and their insertion order, so a replay rebuilds it
 * exactly. Iteration order: trie order, then insertion order — callers that present entries sort
 * them.
 */
import { setOwn } from '@noetl/common';
import { adopt, ownWith } from './cow';

export interface PMap<T> {
  /** number of keys */
  n: number;
  /** root node */
  b: PNode<T>;
}
/** 32 slots: null (empty), a leaf, or a child node (an array) */
type PNode<T> = Array<PSlot<T>>;
type PSlot<T> = Record<string, T> | PNode<T> | null;

const BITS = 5;
const WIDTH = 1 << BITS;
const MASK = WIDTH - 1;
/** a leaf with more keys than this splits into a node (below MAX_DEPTH) */
const LEAF_MAX = 16;
/** 6 levels use 30 of the hash's 32 bits; leaves at the last level just grow (collisions) */
const MAX_DEPTH = 6;
const hasOwn = Object.prototype.hasOwnProperty;
const isArray = Array.isArray;

function hashOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

// one copy function per kind of object (see ownWith)
const copyMap = (x: PMap<unknown>): PMap<unknown> => ({ n: x.n, b: x.b });
const copyNode = (x: PNode<unknown>): PNode<unknown> => x.slice();
const copyLeaf = (x: Record<string, unknown>): Record<string, unknown> => ({ ...x });

function emptyNode<T>(): PNode<T> {
  return new Array<PSlot<T>>(WIDTH).fill(null);
}

export function pmapEmpty<T>(): PMap<T> {
  return { n: 0, b: emptyNode<T>() };
}

function leafOf<T>(m: PMap<T>, key: string): Record<string, T> | null {
  const h = hashOf(key);
  let node: PNode<T> = m.b;
  for (let shift = 0; ; shift += BITS) {
    const slot: PSlot<T> = node[(h >>> shift) & MASK];
    if (slot === null) return null;
    if (!isArray(slot)) return slot;
    node = slot;
  }
}

export function pmapGet<T>(m: PMap<T>, key: string): T | undefined {
  const leaf = leafOf(m, key);
  return leaf !== null && hasOwn.call(leaf, key) ? leaf[key] : undefined;
}

export function pmapHas<T>(m: PMap<T>, key: string): boolean {
  const leaf = leafOf(m, key);
  return leaf !== null && hasOwn.call(leaf, key);
}

function leafSize(leaf: Record<string, unknown>): number {
  let n = 0;
  for (const k in leaf) if (hasOwn.call(leaf, k)) n++;
  return n;
}

/** Copy-on-write update (see cow.ts): the root-to-leaf path is copied at most once per session. */
export function pmapSet<T>(m: PMap<T>, key: string, value: T): PMap<T> {
  const h = hashOf(key);
  const out = ownWith(m, copyMap as (x: PMap<T>) => PMap<T>);
  let node: PNode<T> = (out.b = ownWith(out.b, copyNode as (x: PNode<T>) => PNode<T>));
  for (let depth = 0; ; depth++) {
    const i = (h >>> (depth * BITS)) & MASK;
    const slot = node[i];
    if (slot === null) {
      node[i] = adopt({ [key]: value } as Record<string, T>);
      out.n = m.n + 1;
      return out;
    }
    if (isArray(slot)) {
      node = node[i] = ownWith(slot, copyNode as (x: PNode<T>) => PNode<T>);
      continue;
    }
    const had = hasOwn.call(slot, key);
    if (had || depth + 1 >= MAX_DEPTH || leafSize(slot) < LEAF_MAX) {
      const leaf = (node[i] = ownWith(slot, copyLeaf as (x: Record<string, T>) => Record<string, T>));
      setOwn(leaf, key, value);
      if (!had) out.n = m.n + 1;
      return out;
    }
    // split the full leaf one level down, keeping its keys' insertion order, then insert there
    const child = adopt(emptyNode<T>());
    const shift = (depth + 1) * BITS;
    for (const k of Object.keys(slot)) {
      const j = (hashOf(k) >>> shift) & MASK;
      const sub = child[j];
      if (sub === null) child[j] = adopt({ [k]: slot[k] } as Record<string, T>);
      else setOwn(sub as Record<string, T>, k, slot[k]);
    }
    node = node[i] = child;
  }
}

function collect<T>(node: PNode<T>, visit: (leaf: Record<string, T>) => void): void {
  for (let i = 0; i < WIDTH; i++) {
    const slot = node[i];
    if (slot === null) continue;
    if (isArray(slot)) collect(slot, visit);
    else visit(slot);
  }
}

export function pmapEntries<T>(m: PMap<T>): Array<[string, T]> {
  const out: Array<[string, T]> = [];
  collect(m.b, (leaf) => {
    for (const k of Object.keys(leaf)) out.push([k, leaf[k]]);
  });
  return out;
}

export function pmapKeys<T>(m: PMap<T>): string[] {
  const out: string[] = [];
  collect(m.b, (leaf) => {
    for (const k of Object.keys(leaf)) out.push(k);
  });
  return out;
}
