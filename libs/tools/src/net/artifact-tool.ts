import { isManifest, isPlainObject, isResultRef, type ResultRef } from '@noetl/common';
import { DEFAULT_HYDRATE_MAX_BYTES, ResultStoreError, hydrate } from '@noetl/results';
import { configErrorOutcome, describeType, errorOutcome, optString } from '../config';
import type { ToolContext, ToolHandler, ToolOutcome } from '../types';

export const ARTIFACT_FIELDS = ['action', 'input', 'ref', 'uri', 'hydrate_max_bytes', 'args'] as const;

export interface ArtifactToolOptions {
  /** worker `hydrate_max_bytes` (default 64 MiB); a task may lower it with `hydrate_max_bytes` */
  hydrateMaxBytes?: number;
}

const SCOPES = new Set(['step', 'execution', 'permanent']);

/**
 * `kind: artifact` (tools.md §2.8) over `ctx.results`. `action: get` reads a ResultRef, a Manifest
 * or a `noetl://` URI (`input.result_ref` | `input.ref` | `ref` | `uri` | `input.uri`) and returns
 * the hydrated payload; `action: put` stores `input.data` and returns its ResultRef.
 */
export function createArtifactTool(opts: ArtifactToolOptions = {}): ToolHandler {
  return {
    kind: 'artifact',
    fields: ARTIFACT_FIELDS,
    run: (config, ctx) => runArtifact(config, ctx, opts, 'artifact'),
  };
}

/**
 * `kind: result_fetch` (tools.md §5): the alias of `artifact` with `action: get` and field `uri`.
 * A separate handler because the alias has no `action` field; register it next to `artifact`.
 */
export function createResultFetchTool(opts: ArtifactToolOptions = {}): ToolHandler {
  return {
    kind: 'result_fetch',
    fields: ARTIFACT_FIELDS,
    run: (config, ctx) => runArtifact({ action: 'get', ...config }, ctx, opts, 'result_fetch'),
  };
}

async function runArtifact(config: Record<string, unknown>, ctx: ToolContext, opts: ArtifactToolOptions, source: string): Promise<ToolOutcome> {
  let action: string | undefined;
  try {
    action = optString(config, 'action')?.toLowerCase();
  } catch {
    return configErrorOutcome(ctx, source, 'action', "field 'action' must be 'get' or 'put'");
  }
  if (action !== 'get' && action !== 'put') {
    return configErrorOutcome(ctx, source, 'action', action === undefined ? "field 'action' is required ('get' or 'put')" : `field 'action' must be 'get' or 'put', got '${action}'`);
  }
  const inputRaw = config['input'] ?? config['args'];
  if (inputRaw !== undefined && inputRaw !== null && !isPlainObject(inputRaw)) {
    return configErrorOutcome(ctx, source, 'input', `field 'input' must be a mapping, got ${describeType(inputRaw)}`);
  }
  const input = (inputRaw ?? {}) as Record<string, unknown>;
  return action === 'get' ? get(config, input, ctx, opts, source) : put(input, ctx, source);
}

async function get(config: Record<string, unknown>, input: Record<string, unknown>, ctx: ToolContext, opts: ArtifactToolOptions, source: string): Promise<ToolOutcome> {
  const candidates: Array<[string, unknown]> = [
    ['input.result_ref', input['result_ref']], ['input.ref', input['ref']], ['ref', config['ref']], ['uri', config['uri']], ['input.uri', input['uri']],
  ];
  const found = candidates.find(([, v]) => v !== undefined && v !== null && v !== '');
  if (!found) return configErrorOutcome(ctx, source, 'input.result_ref', "action 'get' needs input.result_ref (aliases input.ref, ref, uri)");
  const [field, raw] = found;
  let target: unknown = raw;
  if (typeof raw === 'string' && raw.trim().startsWith('{')) {
    try {
      target = JSON.parse(raw);
    } catch {
      return configErrorOutcome(ctx, source, field, `field '${field}' is not a ResultRef, Manifest or noetl:// URI`);
    }
  }
  let limit = opts.hydrateMaxBytes ?? DEFAULT_HYDRATE_MAX_BYTES;
  const own = config['hydrate_max_bytes'];
  if (own !== undefined && own !== null) {
    if (typeof own !== 'number' || !(own > 0)) return configErrorOutcome(ctx, source, 'hydrate_max_bytes', "field 'hydrate_max_bytes' must be a positive number");
    limit = Math.min(limit, own);
  }
  try {
    let value: unknown;
    if (typeof target === 'string') {
      if (!target.startsWith('noetl://')) return configErrorOutcome(ctx, source, field, `field '${field}' is not a ResultRef, Manifest or noetl:// URI`);
      if (!ctx.results.getByUri) {
        return errorOutcome(ctx, source, 'reference_not_available', 'RESULT_URI_UNSUPPORTED', `${source}: this results store cannot resolve URIs (${target})`);
      }
      value = await ctx.results.getByUri(target, { maxBytes: limit });
      value = await hydrate(ctx.results, value, { maxBytes: limit }); // a stored manifest
    } else if (isResultRef(target) || isManifest(target)) {
      value = await hydrate(ctx.results, target, { maxBytes: limit });
    } else {
      return configErrorOutcome(ctx, source, field, `field '${field}' is not a ResultRef, Manifest or noetl:// URI (got ${describeType(target)})`);
    }
    return { status: 'ok', data: value };
  } catch (e) {
    if (e instanceof ResultStoreError) return errorOutcome(ctx, source, e.kind, e.code, `${source}: ${e.message}`);
    return errorOutcome(ctx, source, 'reference_not_available', 'RESULT_UNAVAILABLE', `${source}: ${(e as Error)?.message ?? String(e)}`);
  }
}

async function put(input: Record<string, unknown>, ctx: ToolContext, source: string): Promise<ToolOutcome> {
  if (!('data' in input)) return configErrorOutcome(ctx, source, 'input.data', "action 'put' needs input.data");
  const scope = input['scope'];
  if (scope !== undefined && scope !== null && (typeof scope !== 'string' || !SCOPES.has(scope))) {
    return configErrorOutcome(ctx, source, 'input.scope', "field 'input.scope' must be step, execution or permanent");
  }
  const name = input['name'];
  if (name !== undefined && name !== null && (typeof name !== 'string' || !/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(name) || name.split('/').some((s) => s === '.' || s === '..'))) {
    return configErrorOutcome(ctx, source, 'input.name', "field 'input.name' must be a relative name of letters, digits, '.', '_', '-' and '/'");
  }
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');
  const entity = typeof name === 'string'
    ? `artifacts/${name}`
    : `artifacts/${safe(ctx.stepRunId)}/${safe(ctx.task)}/v${ctx.visit}-a${ctx.attempt}`;
  try {
    const ref: ResultRef = await ctx.results.put(
      { executionId: ctx.executionId, entity, scope: (scope as ResultRef['scope'] | undefined) ?? 'execution' },
      input['data'],
      { compression: input['compression'] === 'gzip' ? 'gzip' : undefined },
    );
    return { status: 'ok', data: ref };
  } catch (e) {
    return errorOutcome(ctx, source, 'reference_not_available', 'RESULT_STORE_WRITE', `${source}: storing the artifact failed: ${(e as Error)?.message ?? String(e)}`);
  }
}
