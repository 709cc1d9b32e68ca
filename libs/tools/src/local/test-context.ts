import type { ResultStore } from '@noetl/results';
import type { Credential, ToolContext } from '../types';

/**
 * A ToolContext for the local tools' tests: in-memory secrets/redaction, a credential table for
 * `resolveAuth`, and collected log lines. Not part of the lib's public API.
 */
export function makeTestContext(overrides: Partial<ToolContext> & { credentials?: Record<string, Credential> } = {}): ToolContext & { secrets: Set<string>; logs: string[] } {
  const secrets = new Set<string>();
  const logs: string[] = [];
  const { credentials = {}, ...rest } = overrides;
  const register = (v: string): void => {
    if (v) secrets.add(v);
  };
  const ctx: ToolContext & { secrets: Set<string>; logs: string[] } = {
    executionId: 'exec-1',
    rootExecutionId: 'exec-1',
    step: 'step_a',
    stepRunId: 'sr-1',
    task: 'step_a_task',
    taskIndex: 0,
    taskRunId: 'tr-1',
    commandId: 'cmd-1',
    visit: 1,
    attempt: 1,
    spec: {},
    signal: new AbortController().signal,
    async resolveAuth(ref: unknown): Promise<Credential> {
      const name = typeof ref === 'string' ? ref : typeof ref === 'object' && ref !== null ? String((ref as Record<string, unknown>).key ?? (ref as Record<string, unknown>).credential ?? '') : '';
      const cred = credentials[name];
      if (!cred) {
        throw Object.assign(new Error(`credential '${name}' not found`), { kind: 'auth', code: 'AUTH_NOT_FOUND' });
      }
      for (const [k, v] of Object.entries(cred.data)) if (typeof v === 'string' && /pass|secret|token|key/i.test(k)) register(v);
      return cred;
    },
    registerSecret: register,
    redact(text: string): string {
      let out = text;
      for (const s of secrets) out = out.split(s).join('***');
      return out;
    },
    results: {} as ResultStore,
    iter: null,
    log: (line: string) => logs.push(line),
    secrets,
    logs,
    ...rest,
  };
  return ctx;
}
