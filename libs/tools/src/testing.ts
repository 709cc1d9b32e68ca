// Test double of ToolContext for the tools' own specs. Not part of the lib's public API (not
// exported from index.ts): specs import it relatively.
import { isPlainObject } from '@noetl/common';
import type { ResultStore } from '@noetl/results';
import type { Credential, ToolContext } from './types';

/** Error thrown by the test `resolveAuth`, shaped like the runtime's AuthResolutionError. */
export class TestAuthError extends Error {
  readonly kind = 'auth';
  constructor(readonly code: 'AUTH_NOT_FOUND' | 'KEYCHAIN_UNRESOLVED', message: string) {
    super(message);
  }
}

/** Credential fields whose string values the test `resolveAuth` registers as secrets. */
const SECRET_FIELD = /pass|secret|token|key/i;

const noResults: ResultStore = {
  storeKind: 'fs',
  put: () => Promise.reject(new Error('no results store in this test context')),
  get: () => Promise.reject(new Error('no results store in this test context')),
};

/**
 * A ToolContext for tests: credentials by name; `auth` as a credential name, a `{credential | key}`
 * reference (other fields override the stored ones; `type` overrides its type) or an inline
 * mapping (tools.md K1.6/K1.7); a working redaction set (secret-looking credential fields and
 * `registerSecret` values of 3+ characters); collected log lines.
 */
export function makeTestContext(
  overrides: Partial<ToolContext> & { credentials?: Record<string, Credential> } = {},
): ToolContext & { secrets: Set<string>; logs: string[] } {
  const { credentials = {}, ...rest } = overrides;
  const secrets = new Set<string>();
  const logs: string[] = [];
  const register = (v: unknown) => {
    if (typeof v === 'string' && v.length >= 3) secrets.add(v);
  };
  const registerFields = (data: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(data)) if (SECRET_FIELD.test(k)) register(v);
  };
  const lookup = (name: string): Credential => {
    const c = credentials[name];
    if (!c) throw new TestAuthError('AUTH_NOT_FOUND', `credential '${name}' not found`);
    registerFields(c.data);
    return { type: c.type, data: { ...c.data } };
  };
  const ctx: ToolContext & { secrets: Set<string>; logs: string[] } = {
    executionId: 'ex-test',
    rootExecutionId: 'ex-test',
    step: 'step1',
    stepRunId: 'r1.0',
    task: 'task1',
    taskIndex: 0,
    taskRunId: 'tr1',
    commandId: 'cmd-1',
    visit: 1,
    attempt: 1,
    spec: {},
    signal: new AbortController().signal,
    async resolveAuth(ref: unknown): Promise<Credential> {
      if (typeof ref === 'string') return lookup(ref);
      if (isPlainObject(ref)) {
        const name = (ref.credential ?? ref.key) as unknown;
        if (typeof name === 'string') {
          const base = lookup(name);
          const { credential: _c, key: _k, source: _s, type, ...inline } = ref;
          registerFields(inline);
          return { type: typeof type === 'string' ? type : base.type, data: { ...base.data, ...inline } };
        }
        const { type, ...data } = ref;
        registerFields(data);
        return { type: typeof type === 'string' ? type : '', data };
      }
      throw new TestAuthError('AUTH_NOT_FOUND', 'auth must be a credential name or a mapping');
    },
    registerSecret: register,
    redact(text: string): string {
      let out = text;
      for (const s of secrets) out = out.split(s).join('***');
      return out;
    },
    results: noResults,
    iter: null,
    log: (line: string) => logs.push(line),
    ...rest,
    secrets,
    logs,
  };
  return ctx;
}
