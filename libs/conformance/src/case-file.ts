import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** One canned HTTP response of a fixture route (served in order; the last one repeats). */
export interface HttpFixtureResponse {
  status?: number;
  /** JSON body (serialized, `content-type: application/json`) */
  json?: unknown;
  /** raw text body, when `json` is absent */
  body?: string;
  headers?: Record<string, string>;
  delay_ms?: number;
}

/** A fixture route: exact method and path; `query` params (when given) must all match. */
export interface HttpFixtureRoute {
  method?: string;
  path: string;
  query?: Record<string, string | number | boolean>;
  responses: HttpFixtureResponse[];
}

export interface HttpFixtureSpec {
  routes: HttpFixtureRoute[];
}

/** `{match, count}`: how many events subset-match `match` (top-level envelope fields). */
export interface EventCountExpectation {
  match: Record<string, unknown>;
  count: number;
}

/** The `expect:` block of an expect file (conformance README). */
export interface CaseExpectation {
  status: 'completed' | 'failed' | 'cancelled' | 'invalid';
  error?: Record<string, unknown> | null;
  ctx?: Record<string, unknown>;
  steps?: Record<string, Record<string, unknown>>;
  order?: string[];
  events?: EventCountExpectation[];
  diagnostics?: Array<Record<string, unknown>>;
}

/** The whole expect file (`NAME.expect.json`, the JSON twin of `NAME.expect.yaml`). */
export interface ExpectFile {
  description?: string;
  payload?: Record<string, unknown>;
  needs?: string[];
  http?: HttpFixtureSpec;
  expect: CaseExpectation;
}

/** A conformance case: `NAME.yaml` + `NAME.expect.json`. */
export interface ConformanceCase {
  name: string;
  playbookFile: string;
  expectFile: string;
  /** the expect file, or undefined when it could not be read (see `loadError`) */
  expect?: ExpectFile;
  loadError?: string;
}

/** Fixtures this runner knows how to provide. */
export const KNOWN_NEEDS = ['http', 'postgres'] as const;

/**
 * Lists the cases of a directory: every `NAME.yaml` that is not itself an expect file, in name
 * order. A case whose expect JSON twin is missing or unreadable is returned with `loadError` (so
 * the runner reports it as failed instead of skipping it). `filter` keeps names containing it.
 */
export function loadCases(dir: string, opts: { filter?: string } = {}): ConformanceCase[] {
  const root = resolve(dir);
  const names = readdirSync(root)
    .filter((f) => (f.endsWith('.yaml') || f.endsWith('.yml')) && !/\.expect\.ya?ml$/.test(f))
    .map((f) => ({ file: f, name: f.replace(/\.ya?ml$/, '') }))
    .filter((c) => !opts.filter || c.name.includes(opts.filter))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return names.map(({ file, name }) => loadCase(root, name, file));
}

/** Loads one case by name (`dir/NAME.yaml` + `dir/NAME.expect.json`). */
export function loadCase(dir: string, name: string, playbookFileName = `${name}.yaml`): ConformanceCase {
  const playbookFile = join(dir, playbookFileName);
  const expectFile = join(dir, `${name}.expect.json`);
  const c: ConformanceCase = { name, playbookFile, expectFile };
  if (!existsSync(expectFile)) {
    c.loadError = `missing expect file ${name}.expect.json (the JSON twin is required; YAML 1.1 loaders misread the YAML twin)`;
    return c;
  }
  try {
    c.expect = parseExpectFile(readFileSync(expectFile, 'utf8'));
  } catch (e) {
    c.loadError = `bad expect file ${name}.expect.json: ${(e as Error).message}`;
  }
  return c;
}

/** Parses and shape-checks an expect file's JSON text. Throws with a readable message. */
export function parseExpectFile(text: string): ExpectFile {
  const doc = JSON.parse(text) as unknown;
  if (!isObj(doc)) throw new Error('top level must be an object');
  const expect = doc.expect;
  if (!isObj(expect)) throw new Error('`expect` must be an object');
  if (!['completed', 'failed', 'cancelled', 'invalid'].includes(expect.status as string)) {
    throw new Error(`expect.status must be completed|failed|cancelled|invalid, got ${JSON.stringify(expect.status)}`);
  }
  if (doc.payload !== undefined && !isObj(doc.payload)) throw new Error('`payload` must be an object');
  if (doc.needs !== undefined && !(Array.isArray(doc.needs) && doc.needs.every((n) => typeof n === 'string'))) {
    throw new Error('`needs` must be a list of strings');
  }
  if (doc.http !== undefined) {
    if (!isObj(doc.http) || !Array.isArray(doc.http.routes)) throw new Error('`http.routes` must be a list');
    doc.http.routes.forEach((r, i) => {
      if (!isObj(r) || typeof r.path !== 'string') throw new Error(`http.routes[${i}].path must be a string`);
      if (!Array.isArray(r.responses) || r.responses.length === 0) throw new Error(`http.routes[${i}].responses must be a non-empty list`);
    });
  }
  if (expect.steps !== undefined && !isObj(expect.steps)) throw new Error('expect.steps must be an object');
  if (expect.order !== undefined && !(Array.isArray(expect.order) && expect.order.every((s) => typeof s === 'string'))) {
    throw new Error('expect.order must be a list of step names');
  }
  if (expect.events !== undefined) {
    if (!Array.isArray(expect.events)) throw new Error('expect.events must be a list');
    expect.events.forEach((e, i) => {
      if (!isObj(e) || !isObj(e.match) || typeof e.count !== 'number') throw new Error(`expect.events[${i}] must be {match: {...}, count: N}`);
    });
  }
  if (expect.diagnostics !== undefined && !Array.isArray(expect.diagnostics)) throw new Error('expect.diagnostics must be a list');
  return doc as unknown as ExpectFile;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
