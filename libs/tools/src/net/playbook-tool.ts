import { isPlainObject, makeError, type ErrorObject } from '@noetl/common';
import { ToolConfigError, configErrorOutcome, describeType, errorOutcome, optBool, optString, readConfig } from '../config';
import { effectiveTimeoutMs } from '../timeout';
import type { ChildExecutionResult, ToolContext, ToolHandler, ToolOutcome } from '../types';

export const PLAYBOOK_FIELDS = [
  'path', 'catalog_id', 'version', 'input', 'payload', 'args', 'ctx', 'return_step', 'wait', 'timeout', 'timeout_seconds', 'retry',
] as const;

interface PlaybookPlan {
  path?: string;
  catalogId?: string;
  version?: number | 'latest';
  input: Record<string, unknown>;
  childCtx?: Record<string, unknown>;
  returnStep?: string;
  wait: boolean;
  timeoutMs: number;
}

/**
 * `kind: playbook` (tools.md §2.4, runtime.md §12) over `ctx.children`: starts the child with the
 * idempotency key `<command_id>/t<task_index>/v<visit>/a<attempt>` and the parent link, waits for
 * its terminal state up to the effective timeout (default 3,600 s), and cancels it on timeout or
 * when the parent attempt is cancelled. The legacy `retry` block is normalized by the catalog
 * (K2.14) and ignored here.
 */
export function createPlaybookTool(): ToolHandler {
  return {
    kind: 'playbook',
    fields: PLAYBOOK_FIELDS,
    async run(config, ctx) {
      const read = readConfig(ctx, 'playbook', () => plan(config, ctx));
      if ('outcome' in read) return read.outcome;
      const p = read.ok;
      const children = ctx.children;
      if (!children) return configErrorOutcome(ctx, 'playbook', undefined, 'sub-playbooks not available in this runtime');
      if (ctx.signal.aborted) return errorOutcome(ctx, 'playbook', 'cancelled', 'CANCELLED', 'playbook: cancelled');

      const requestId = `${ctx.commandId}/t${ctx.taskIndex}/v${ctx.visit}/a${ctx.attempt}`;
      let executionId: string;
      try {
        ({ executionId } = await children.start({
          ...(p.path !== undefined ? { path: p.path } : {}),
          ...(p.catalogId !== undefined ? { catalogId: p.catalogId } : {}),
          ...(p.version !== undefined ? { version: p.version } : {}),
          input: p.input,
          ...(p.childCtx ? { ctx: p.childCtx } : {}),
          requestId,
          parent: { executionId: ctx.executionId, stepRunId: ctx.stepRunId, taskRunId: ctx.taskRunId, iter: ctx.iter },
        }));
      } catch (e) {
        return startFailure(ctx, p, e);
      }
      if (!p.wait) {
        return { status: 'ok', data: { execution_id: executionId, status: 'started' }, helpers: { child: { execution_id: executionId, status: 'started' } } };
      }

      const ac = new AbortController();
      let timedOut = false;
      const onAbort = () => ac.abort(ctx.signal.reason);
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(() => { timedOut = true; ac.abort(new Error('timeout')); }, p.timeoutMs);
      let result: ChildExecutionResult;
      try {
        result = await children.wait(executionId, ac.signal);
      } catch (e) {
        if (timedOut || ctx.signal.aborted) {
          const reason = timedOut ? 'timeout' : 'parent cancelled';
          await children.cancel(executionId, reason).catch((err) => ctx.log(`playbook: cancelling child ${executionId} failed: ${(err as Error)?.message}`));
          const helpers = { child: { execution_id: executionId, status: 'cancelling' } };
          if (timedOut) {
            return errorOutcome(ctx, 'playbook', 'timeout', 'TIMEOUT', `playbook: child ${executionId} did not finish within ${p.timeoutMs / 1000} s`, { details: { child_execution_id: executionId } }, { helpers });
          }
          return errorOutcome(ctx, 'playbook', 'cancelled', 'CANCELLED', `playbook: cancelled; child ${executionId} cancelled`, { details: { child_execution_id: executionId } }, { helpers });
        }
        return errorOutcome(ctx, 'playbook', 'connection', 'CHILD_WAIT_FAILED', `playbook: waiting for child ${executionId} failed: ${(e as Error)?.message ?? String(e)}`, { details: { child_execution_id: executionId } }, { helpers: { child: { execution_id: executionId, status: 'unknown' } } });
      } finally {
        clearTimeout(timer);
        ctx.signal.removeEventListener('abort', onAbort);
      }
      const helpers = { child: { execution_id: result.executionId ?? executionId, status: result.status } };
      if (result.status === 'completed') {
        let data: unknown = result.result ?? null;
        if (p.returnStep !== undefined) {
          data = Object.prototype.hasOwnProperty.call(result.stepResults ?? {}, p.returnStep) ? result.stepResults[p.returnStep] : null;
        }
        return { status: 'ok', data, helpers };
      }
      const childError = result.error ?? null;
      if (result.status === 'cancelled') {
        return { status: 'error', error: childErr(ctx, 'child_cancelled', 'CHILD_CANCELLED', `playbook: child execution ${executionId} was cancelled`, executionId, childError), helpers };
      }
      const why = childError?.message ? `: ${childError.message}` : '';
      return { status: 'error', error: childErr(ctx, 'child_failed', 'CHILD_FAILED', `playbook: child execution ${executionId} failed${why}`, executionId, childError), helpers };
    },
  };
}

function childErr(ctx: ToolContext, kind: 'child_failed' | 'child_cancelled', code: string, message: string, childId: string, childError: ErrorObject | null): ErrorObject {
  return makeError(kind, code, ctx.redact(message), { source: 'playbook', details: { child_execution_id: childId, child_error: childError } });
}

function startFailure(ctx: ToolContext, p: PlaybookPlan, e: unknown): ToolOutcome {
  const err = e as { kind?: unknown; code?: unknown; message?: unknown };
  const what = p.path ?? p.catalogId;
  const message = `playbook: starting ${what} failed: ${typeof err?.message === 'string' ? err.message : String(e)}`;
  const code = typeof err?.code === 'string' ? err.code : 'CHILD_START_FAILED';
  if (typeof err?.kind === 'string' && ['not_found', 'config', 'connection', 'timeout', 'auth'].includes(err.kind)) {
    return errorOutcome(ctx, 'playbook', err.kind as 'not_found', code, message);
  }
  if (/NOT_FOUND/i.test(code)) return errorOutcome(ctx, 'playbook', 'not_found', code, message);
  return errorOutcome(ctx, 'playbook', 'child_failed', code, message);
}

function plan(config: Record<string, unknown>, ctx: ToolContext): PlaybookPlan {
  const path = optString(config, 'path');
  const catalogId = optString(config, 'catalog_id');
  if (!path && !catalogId) throw new ToolConfigError('path', "field 'path' (or 'catalog_id') is required");
  let version: number | 'latest' | undefined;
  const v = config['version'];
  if (v !== undefined && v !== null) {
    if (v === 'latest') version = 'latest';
    else if (typeof v === 'number' && Number.isInteger(v) && v > 0) version = v;
    else if (typeof v === 'string' && /^\d+$/.test(v)) version = Number(v);
    else throw new ToolConfigError('version', `field 'version' must be a positive integer or 'latest', got ${JSON.stringify(v)}`);
  }
  let input: Record<string, unknown> = {};
  for (const f of ['input', 'payload', 'args']) {
    const val = config[f];
    if (val === undefined || val === null) continue;
    if (!isPlainObject(val)) throw new ToolConfigError(f, `field '${f}' must be a mapping, got ${describeType(val)}`);
    input = val;
    break;
  }
  const c = config['ctx'];
  if (c !== undefined && c !== null && !isPlainObject(c)) throw new ToolConfigError('ctx', `field 'ctx' must be a mapping, got ${describeType(c)}`);
  return {
    path, catalogId, version, input,
    childCtx: isPlainObject(c) ? c : undefined,
    returnStep: optString(config, 'return_step'),
    wait: optBool(config, 'wait', true),
    timeoutMs: effectiveTimeoutMs(config, ctx, 3600),
  };
}
