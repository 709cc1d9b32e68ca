import type { EmbeddedRuntime, EmbeddedRuntimeOptions } from '@noetl/embedded';
import type { RunDocument } from './matcher';
import { CaseUnrunnable, type CaseExecutor, type CaseRunInput } from './runner';

export interface EmbeddedExecutorOptions extends Omit<EmbeddedRuntimeOptions, 'credentials'> {
  /** how long to wait for `execution.cancelled` after a case timed out (default 10 s) */
  cancelWaitMs?: number;
}

/**
 * Runs cases in this process through `@noetl/embedded` (no subprocess per case). One runtime is
 * shared by consecutive cases with the same credentials (tool pools stay warm); `close()` ends it.
 */
export function createEmbeddedExecutor(opts: EmbeddedExecutorOptions = {}): CaseExecutor & { close(): Promise<void> } {
  // loaded here, not at import: the matcher and fixtures of this lib stay cheap to import
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createEmbeddedRuntime, FileCatalog, PlaybookRejectedError, toolKindsOf } = require('@noetl/embedded') as typeof import('@noetl/embedded');
  let current: { key: string; rt: EmbeddedRuntime } | null = null;
  const runtimeFor = async (credentials: CaseRunInput['credentials']): Promise<EmbeddedRuntime> => {
    const key = JSON.stringify(credentials);
    if (current?.key === key) return current.rt;
    await current?.rt.close();
    current = { key, rt: createEmbeddedRuntime({ ...opts, credentials }) };
    return current.rt;
  };

  return {
    mode: 'embedded',
    async run({ case: c, payload, credentials, timeoutMs }: CaseRunInput): Promise<RunDocument> {
      const rt = await runtimeFor(credentials);
      // a case needing a tool kind this build lacks fails with that reason (valid playbooks only)
      const loaded = new FileCatalog().load(c.playbookFile);
      if (loaded.ok) {
        const available = new Set(rt.toolKinds());
        const missing = toolKindsOf(loaded.entry.playbook).filter((k) => !available.has(k));
        if (missing.length) {
          throw new CaseUnrunnable(`needs tool kind${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, not registered (available: ${[...available].join(', ') || 'none'})`);
        }
      }
      let id: string;
      try {
        id = await rt.submit(c.playbookFile, payload, { requestedBy: 'conformance' });
      } catch (e) {
        if (e instanceof PlaybookRejectedError) {
          return { status: 'invalid', diagnostics: e.diagnostics as unknown as Array<Record<string, unknown>> };
        }
        throw e;
      }
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), timeoutMs);
      try {
        await rt.waitForTerminal(id, ac.signal);
      } catch (e) {
        if (!ac.signal.aborted) throw e;
        const status = rt.status(id);
        await rt.cancel(id, 'conformance case timed out');
        const grace = new AbortController();
        const t2 = setTimeout(() => grace.abort(), opts.cancelWaitMs ?? 10_000);
        await rt.waitForTerminal(id, grace.signal).catch(() => undefined);
        clearTimeout(t2);
        throw new CaseUnrunnable(`timed out after ${Math.round(timeoutMs / 1000)} s (execution ${id} was ${status ?? 'unknown'}; cancellation requested)`);
      } finally {
        clearTimeout(timer);
      }
      return (await rt.document(id)) as unknown as RunDocument;
    },
    async close() {
      await current?.rt.close();
      current = null;
    },
  };
}
