// `ctx.resolveAuth` failures as error outcomes, and credential field readers, shared by the tools.
import { isPlainObject, type ErrorKind } from '@noetl/common';
import { errorOutcome } from './config';
import type { Credential, ToolContext, ToolOutcome } from './types';

const KNOWN_AUTH_KINDS: Record<string, true> = { auth: true, config: true, connection: true, timeout: true, template: true };

/**
 * The outcome of a rejected `ctx.resolveAuth` for the process-local tools: the rejection's own kind
 * when it is one an auth lookup can have (else `auth`), its code (else AUTH_NOT_FOUND), and the
 * message `auth resolution failed: <message>`.
 */
export function authFailure(ctx: Pick<ToolContext, 'redact'>, source: string, e: unknown): ToolOutcome {
  const err = e as { kind?: unknown; code?: unknown; message?: unknown; error?: { kind?: unknown; code?: unknown } };
  const kind = typeof err?.kind === 'string' ? err.kind : typeof err?.error?.kind === 'string' ? err.error.kind : 'auth';
  const code = typeof err?.code === 'string' ? err.code : typeof err?.error?.code === 'string' ? err.error.code : 'AUTH_NOT_FOUND';
  const message = typeof err?.message === 'string' ? err.message : String(e);
  const safeKind = (kind in KNOWN_AUTH_KINDS ? kind : 'auth') as ErrorKind;
  return errorOutcome(ctx, source, safeKind, code, `auth resolution failed: ${message}`);
}

/**
 * `ctx.resolveAuth` for the network tools, with its rejection (code AUTH_NOT_FOUND /
 * KEYCHAIN_UNRESOLVED) turned into an `auth` error outcome `<source>: auth resolution failed: ...`,
 * and a credential without a data mapping into AUTH_INVALID.
 */
export async function resolveAuth(ctx: ToolContext, source: string, auth: unknown): Promise<{ cred: Credential } | { outcome: ToolOutcome }> {
  try {
    const cred = await ctx.resolveAuth(auth);
    if (!cred || typeof cred !== 'object' || !isPlainObject(cred.data ?? {})) {
      return { outcome: errorOutcome(ctx, source, 'auth', 'AUTH_INVALID', `${source}: the resolved credential has no data mapping`) };
    }
    return { cred: { type: typeof cred.type === 'string' ? cred.type : '', data: cred.data ?? {} } };
  } catch (e) {
    const err = e as { code?: unknown; message?: unknown };
    const code = typeof err?.code === 'string' ? err.code : 'AUTH_NOT_FOUND';
    return { outcome: errorOutcome(ctx, source, 'auth', code, `${source}: auth resolution failed: ${typeof err?.message === 'string' ? err.message : String(e)}`) };
  }
}

/** A string field of credential data, trying aliases in order. */
export function credString(data: Record<string, unknown>, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = data[n];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  }
  return undefined;
}
