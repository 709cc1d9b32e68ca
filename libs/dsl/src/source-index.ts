/**
 * Source positions of a parsed playbook, looked up by container object or by path (dsl R17.1).
 * Filled by the `yaml` converter (yaml-source.ts); yaml-fast.ts has a subclass for the js-yaml path.
 */
export interface NodePos {
  line: number;
  column: number;
  /** position of the mapping key, when the node is the value of a mapping entry */
  keyLine?: number;
  keyColumn?: number;
}

/**
 * Source offsets of one container and of its entries. Mappings: `keys[i]` with value offset
 * `offs[2i]` and key offset `offs[2i+1]`; lists: item i at `offs[i]`. Plain arrays (no Maps):
 * there is one of these per parsed mapping/list, and lookups happen only for diagnostics.
 */
export interface ContainerMeta {
  offset: number;
  keys?: string[];
  offs: number[];
}

export interface WalkResult {
  offset: number;
  keyOffset: number;
  complete: boolean;
}

/**
 * Positions of every node of the converted value, looked up by path (`workflow[2].tool`).
 * Stored per container object (no path strings are built while parsing); offsets become
 * line/column only when a diagnostic or a `loc` asks for them.
 */
export class SourceIndex {
  // a plain Map (not a WeakMap: ephemeron tables are costly for the GC); dropped with the index after a load
  private readonly meta = new Map<object, ContainerMeta>();
  private root: unknown = undefined;
  private rootOffset = 0;

  constructor(protected readonly linePos: (offset: number) => { line: number; col: number } = () => ({ line: 1, col: 1 })) {}

  /** @internal used by the converter */
  setRoot(value: unknown, offset: number): void {
    this.root = value;
    this.rootOffset = offset;
  }

  /** @internal used by the converter */
  container(obj: object, offset: number, mapping: boolean): ContainerMeta {
    const m: ContainerMeta = mapping ? { offset, keys: [], offs: [] } : { offset, offs: [] };
    this.meta.set(obj, m);
    return m;
  }

  /** Position of a mapping or list produced by the parser (O(1); no path walk). */
  positionOf(obj: unknown): { line: number; column: number } | undefined {
    const offset = obj !== null && typeof obj === 'object' ? this.containerOffset(obj) : undefined;
    if (offset === undefined) return undefined;
    const v = this.linePos(offset);
    return { line: v.line, column: v.col };
  }

  protected containerOffset(obj: object): number | undefined {
    return this.meta.get(obj)?.offset;
  }

  /** The node's own position (and its key's), or undefined when the path does not exist. */
  get(path: string): NodePos | undefined {
    const r = this.walk(path);
    if (!r.complete) return undefined;
    const v = this.linePos(r.offset);
    const pos: NodePos = { line: v.line, column: v.col };
    if (r.keyOffset >= 0) {
      const k = this.linePos(r.keyOffset);
      pos.keyLine = k.line;
      pos.keyColumn = k.col;
    }
    return pos;
  }

  /** The node's own position (its key's with `atKey`), else the nearest existing ancestor's, else 1:1. */
  locate(path: string, atKey = false): { line: number; column: number } {
    const r = this.walk(path);
    const off = atKey && r.complete && r.keyOffset >= 0 ? r.keyOffset : r.offset;
    const v = this.linePos(off);
    return { line: v.line, column: v.col };
  }

  /** @internal offsets of `path`, or of its nearest existing ancestor (complete: false) */
  walk(path: string): WalkResult {
    let node: unknown = this.root;
    let offset = this.rootOffset;
    let keyOffset = -1;
    for (const seg of splitPath(path)) {
      const m = node !== null && typeof node === 'object' ? this.meta.get(node) : undefined;
      if (!m) return { offset, keyOffset: -1, complete: false };
      if (m.keys) {
        const i = m.keys.lastIndexOf(seg);
        if (i < 0) return { offset, keyOffset: -1, complete: false };
        offset = m.offs[2 * i];
        keyOffset = m.offs[2 * i + 1];
      } else {
        const i = /^[0-9]+$/.test(seg) ? Number(seg) : -1;
        if (i < 0 || i >= m.offs.length) return { offset, keyOffset: -1, complete: false };
        offset = m.offs[i];
        keyOffset = -1;
      }
      node = (node as Record<string, unknown>)[seg];
    }
    return { offset, keyOffset, complete: true };
  }
}

/** `a.b[2]["x.y"]` -> ['a', 'b', '2', 'x.y'] (the inverse of paths.ts). */
export function splitPath(path: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < path.length) {
    const c = path[i];
    if (c === '.') {
      i++;
    } else if (c === '[') {
      if (path[i + 1] === '"') {
        let j = i + 2;
        while (j < path.length && path[j] !== '"') j += path[j] === '\\' ? 2 : 1;
        try {
          out.push(JSON.parse(path.slice(i + 1, j + 1)) as string);
        } catch {
          out.push(path.slice(i + 2, j));
        }
        i = j + 2;
      } else {
        const j = path.indexOf(']', i);
        out.push(path.slice(i + 1, j < 0 ? path.length : j));
        i = j < 0 ? path.length : j + 1;
      }
    } else {
      let j = i;
      while (j < path.length && path[j] !== '.' && path[j] !== '[') j++;
      out.push(path.slice(i, j));
      i = j;
    }
  }
  return out;
}
