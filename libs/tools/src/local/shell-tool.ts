import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { makeError } from '@noetl/common';
import type { ToolContext, ToolHandler, ToolOutcome } from '../types';
import { configFailure, errorOutcome, optString, optStringList, optStringMap, ToolConfigError } from '../config';
import { effectiveTimeoutMs, KIND_DEFAULT_TIMEOUT_S } from '../timeout';
import { killGroup, redactedTail, StreamCapture, trackGroup, untrackGroup } from './process-io';

const SOURCE = 'shell';
const FIELDS = ['cmds', 'command', 'shell', 'cwd', 'env', 'timeout_seconds'] as const;

export interface ShellToolOptions {
  /** SIGTERM -> SIGKILL grace on cancellation (default 5000 ms, runtime.md §11) */
  killGraceMs?: number;
}

/** One command's result inside `data.results`. `exit_code` is null when the command was killed (timeout, cancellation). */
export interface ShellCommandResult {
  index: number;
  exit_code: number | null;
  stdout: string;
  stderr: string;
}

interface CommandRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: StreamCapture;
  stderr: StreamCapture;
  stopped?: 'timeout' | 'cancelled';
  spawnError?: Error;
}

/**
 * `kind: shell` (tools.md §4.1). `command` or `cmds` run in order, each in a fresh
 * `<shell> -c <command>` (own process group), stopping at the first non-zero exit. The timeout
 * bounds the whole task. Outcome `data`:
 * `{exit_code, stdout, stderr, results: [{index, exit_code, stdout, stderr}]}` (also on error),
 * streams capped at 1 MiB each and redacted.
 */
/**
 * Commands of one shell tool that have not exited yet. The worker reports a cancelled attempt at
 * once, while the command may still be in its SIGTERM grace: `close()` waits for these (each gets
 * SIGTERM if it has not yet, then SIGKILL when its grace ends), so a runtime that closes does not
 * leave them running.
 */
type Live = Set<{ stop(): void; closed: Promise<void> }>;

export function createShellTool(opts: ShellToolOptions = {}): ToolHandler {
  const killGraceMs = opts.killGraceMs ?? 5000;
  const live: Live = new Set();
  return {
    kind: 'shell',
    fields: FIELDS,
    run: (config, ctx) => runShell(config ?? {}, ctx, killGraceMs, live),
    async close() {
      const waiting = [...live];
      for (const l of waiting) l.stop();
      await Promise.all(waiting.map((l) => l.closed));
    },
  };
}

async function runShell(config: Record<string, unknown>, ctx: ToolContext, killGraceMs: number, live: Live): Promise<ToolOutcome> {
  let commands: string[];
  let shell: string;
  let cwd: string | undefined;
  let env: Record<string, string> | undefined;
  let timeoutMs: number;
  try {
    const cmds = optStringList(config, 'cmds');
    const command = optString(config, 'command');
    if (cmds !== undefined && command !== undefined) throw new ToolConfigError('cmds', "give either 'command' or 'cmds', not both");
    if (cmds === undefined && command === undefined) throw new ToolConfigError('command', "one of 'command' (string) or 'cmds' (list of strings) is required");
    commands = cmds ?? [command as string];
    if (commands.length === 0) throw new ToolConfigError('cmds', "field 'cmds' must not be empty");
    shell = optString(config, 'shell') ?? 'sh';
    if (shell.trim() === '') throw new ToolConfigError('shell', "field 'shell' must not be empty");
    cwd = optString(config, 'cwd');
    env = optStringMap(config, 'env');
    timeoutMs = effectiveTimeoutMs(config, ctx, KIND_DEFAULT_TIMEOUT_S.shell);
    if (cwd !== undefined) {
      const st = await stat(cwd).catch(() => undefined);
      if (!st?.isDirectory()) throw new ToolConfigError('cwd', `field 'cwd': directory '${cwd}' does not exist`);
    }
  } catch (e) {
    return configFailure(ctx, SOURCE, e);
  }
  if (ctx.signal.aborted) return errorOutcome(ctx, SOURCE, 'cancelled', 'CANCELLED', 'shell task cancelled');

  const deadline = Date.now() + timeoutMs;
  const results: ShellCommandResult[] = [];
  const allOut = new StreamCapture();
  const allErr = new StreamCapture();
  const tailOut = new StreamCapture(0);
  const tailErr = new StreamCapture(0);
  let truncated = false;
  let last: CommandRun | undefined;
  for (let index = 0; index < commands.length; index++) {
    const run = await runOne(shell, commands[index], cwd, env, deadline, ctx.signal, killGraceMs, live);
    last = run;
    if (run.spawnError) {
      return errorOutcome(ctx, SOURCE, 'config', 'CONFIG', `cannot start shell '${shell}': ${run.spawnError.message}`, { details: { field: 'shell' } });
    }
    results.push({ index, exit_code: run.exitCode, stdout: ctx.redact(run.stdout.text()), stderr: ctx.redact(run.stderr.text()) });
    allOut.write(Buffer.from(run.stdout.text()));
    allErr.write(Buffer.from(run.stderr.text()));
    tailOut.write(Buffer.from(run.stdout.tailText()));
    tailErr.write(Buffer.from(run.stderr.tailText()));
    truncated ||= run.stdout.truncated || run.stderr.truncated;
    if (run.stopped || run.exitCode !== 0) break;
  }
  const final = last!;
  const data = {
    exit_code: final.exitCode,
    stdout: ctx.redact(allOut.text()),
    stderr: ctx.redact(allErr.text()),
    results,
  };
  const meta: Record<string, unknown> = {
    stdout_tail: redactedTail(tailOut.tailText(), ctx),
    stderr_tail: redactedTail(tailErr.tailText(), ctx),
    truncated: truncated || allOut.truncated || allErr.truncated,
  };
  const failedIndex = results.length - 1;
  if (final.stopped === 'timeout') {
    return {
      status: 'error',
      data,
      meta,
      error: makeError('timeout', 'TIMEOUT', `shell task exceeded its timeout of ${timeoutMs / 1000}s (command ${failedIndex} was killed)`, { source: SOURCE, details: { command_index: failedIndex } }),
    };
  }
  if (final.stopped === 'cancelled') {
    return { status: 'error', data, meta, error: makeError('cancelled', 'CANCELLED', `shell task cancelled (command ${failedIndex} was terminated)`, { source: SOURCE }) };
  }
  if (final.exitCode !== 0) {
    const code = final.exitCode ?? -1;
    const how = final.signal ? ` (killed by signal ${final.signal})` : '';
    const stderrHint = final.stderr.tailText().trim().split('\n').slice(-3).join(' | ');
    return {
      status: 'error',
      data,
      meta,
      helpers: { shell: { exit_code: code } },
      error: makeError('script_error', `EXIT_${code}`,
        ctx.redact(`command ${failedIndex} exited with code ${code}${how}${stderrHint ? `: ${stderrHint}` : ''}`),
        { source: SOURCE, details: { command_index: failedIndex } }),
    };
  }
  return { status: 'ok', data, meta, helpers: { shell: { exit_code: 0 } } };
}

function runOne(
  shell: string,
  command: string,
  cwd: string | undefined,
  env: Record<string, string> | undefined,
  deadline: number,
  signal: AbortSignal,
  killGraceMs: number,
  live: Live,
): Promise<CommandRun> {
  return new Promise<CommandRun>((resolve) => {
    const run: CommandRun = { exitCode: null, signal: null, stdout: new StreamCapture(), stderr: new StreamCapture() };
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      run.stopped = 'timeout';
      resolve(run);
      return;
    }
    const child = spawn(shell, ['-c', command], {
      cwd,
      env: env ? { ...process.env, ...env } : process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // own process group, so a timeout kills the whole pipeline
    });
    trackGroup(child.pid);
    let graceTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      run.stopped = 'timeout';
      killGroup(child.pid, 'SIGKILL');
    }, remaining);
    const onAbort = (): void => {
      if (run.stopped) return;
      run.stopped = 'cancelled';
      killGroup(child.pid, 'SIGTERM');
      graceTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), killGraceMs);
    };
    let closedResolve!: () => void;
    const entry = { stop: onAbort, closed: new Promise<void>((r) => (closedResolve = r)) };
    live.add(entry);
    signal.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (c: Buffer) => run.stdout.write(c));
    child.stderr.on('data', (c: Buffer) => run.stderr.write(c));
    child.on('error', (e) => {
      run.spawnError = e;
    });
    // 'close' (not 'exit'): all output has been read
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      if (graceTimer) clearTimeout(graceTimer);
      untrackGroup(child.pid);
      live.delete(entry);
      closedResolve();
      signal.removeEventListener('abort', onAbort);
      run.exitCode = run.stopped ? null : code ?? (sig ? 128 + signalNumber(sig) : null);
      run.signal = sig;
      resolve(run);
    });
  });
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGABRT: 6, SIGFPE: 8, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };
function signalNumber(sig: NodeJS.Signals): number {
  return SIGNALS[sig] ?? 0;
}

