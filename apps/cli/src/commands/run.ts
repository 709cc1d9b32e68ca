import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { NoetlError } from '@noetl/common';
import {
  createEmbeddedRuntime, credentialsFromEnv, loadCredentialsFile, PlaybookRejectedError, openEventsFile, type CredentialMap, type EventsFile, type RunDocument,
} from '@noetl/embedded';
import type { LoggedEvent } from '@noetl/events';
import { parseArgs, UsageError } from '../args';
import { diagnosticJson, formatDiagnosticWithExcerpt } from '../diagnostics-format';
import { colorizer, writeOut, type CliIo } from '../io';
import { buildPayload } from '../payload';
import { ProgressPrinter, summaryTable } from '../progress';

const RUN_OPTIONS = {
  payload: { value: true },
  set: { value: true, repeat: true },
  credentials: { value: true },
  json: {},
  'events-out': { value: true },
  workers: { value: true },
  strict: {},
  catalog: { value: true, repeat: true },
  quiet: { short: 'q' },
} as const;

function positiveInt(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new UsageError(`--${name} must be an integer between 1 and 1024, got '${v}'`);
  return n;
}

/** Credentials: NOETL_CREDENTIALS first, then --credentials (file entries win). */
export function loadRunCredentials(file: string | undefined, io: CliIo): CredentialMap {
  try {
    return { ...credentialsFromEnv(io.env, io.cwd), ...(file ? loadCredentialsFile(file, io.cwd) : {}) };
  } catch (e) {
    if (e instanceof NoetlError) throw new UsageError(e.message);
    throw e;
  }
}

/** Event types the summary table and the cancellation text read (step timings, what was cancelled). */
const SUMMARY_TYPES: ReadonlySet<string> = new Set(['step.scheduled', 'step.done', 'step.failed', 'step.cancelled', 'loop.done', 'execution.cancelled']);

/**
 * The few events of the execution the final summary needs, kept as they are logged: walking the
 * log back at the end would parse every spilled event again (seconds for a loop of 100,000s of
 * iterations). Its first and last events give the total time; the rest is per step run.
 */
class SummaryEvents {
  private readonly kept: LoggedEvent[] = [];
  private last: LoggedEvent | undefined;

  constructor(private readonly executionId: string) {}

  onEvent(e: LoggedEvent): void {
    if (e.execution_id !== this.executionId) return;
    if (this.kept.length === 0 || SUMMARY_TYPES.has(e.event_type)) this.kept.push(e);
    this.last = e;
  }

  events(): LoggedEvent[] {
    const last = this.last;
    return last === undefined || this.kept[this.kept.length - 1] === last ? this.kept : [...this.kept, last];
  }
}

/** Short text of what a cancellation stopped, from the `execution.cancelled` event (one pass over the log). */
function cancelledText(doc: RunDocument, events: Iterable<LoggedEvent>): string {
  let ev: LoggedEvent | undefined;
  const stepByRun = new Map<string, string>();
  for (const e of events) {
    if (e.execution_id !== doc.execution_id) continue;
    if (e.event_type === 'execution.cancelled') ev = e;
    else if (e.event_type === 'step.scheduled' && e.step_run_id && e.step) stepByRun.set(e.step_run_id, e.step);
  }
  if (!ev || ev.event_type !== 'execution.cancelled') return '';
  const runs = ev.payload.cancelled_step_runs.map((r) => stepByRun.get(r) ?? r);
  const tokens = ev.payload.discarded_tokens.length;
  const parts: string[] = [];
  parts.push(runs.length ? `cancelled step run${runs.length > 1 ? 's' : ''}: ${runs.join(', ')}` : 'no step run was in flight');
  if (tokens) parts.push(`${tokens} pending token${tokens > 1 ? 's' : ''} discarded`);
  return parts.join('; ');
}

export async function runCommand(argv: string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, RUN_OPTIONS);
  if (args.positionals.length !== 1) throw new UsageError(args.positionals.length ? 'run takes exactly one FILE' : 'no FILE given');
  const file = args.positionals[0];
  const json = Boolean(args.flags.json);
  const payload = buildPayload(args.options.payload, args.lists.set ?? [], io.cwd);
  const credentials = loadRunCredentials(args.options.credentials, io);
  const workers = positiveInt(args.options.workers, 'workers', 4);
  const c = colorizer(io);

  const rt = createEmbeddedRuntime({
    credentials,
    workers,
    strict: Boolean(args.flags.strict),
    catalogDirs: args.lists.catalog ?? [],
    cwd: io.cwd,
    env: io.env,
    log: (line) => io.stderr.write(`${c.dim(line)}\n`),
  });
  let unregister: (() => void) | null = null;
  let eventsFile: EventsFile | null = null;
  if (args.options['events-out']) {
    // opened before anything runs: a path that cannot be written is a usage error, not a half-run
    try {
      eventsFile = openEventsFile(resolve(io.cwd, args.options['events-out']));
    } catch (e) {
      await rt.close();
      throw new UsageError(`cannot write --events-out ${args.options['events-out']}: ${(e as Error).message}`);
    }
  }
  try {
    let executionId: string;
    try {
      executionId = await rt.submit(resolve(io.cwd, file), payload, { requestedBy: 'cli' });
    } catch (e) {
      if (!(e instanceof PlaybookRejectedError)) throw e;
      if (json) {
        io.stdout.write(`${JSON.stringify({ status: 'invalid', diagnostics: e.diagnostics.map((d) => diagnosticJson(d, file)) }, null, 2)}\n`);
      } else {
        let source: string | null = null;
        try {
          source = readFileSync(resolve(io.cwd, file), 'utf8');
        } catch {
          source = null;
        }
        for (const d of e.diagnostics) io.stderr.write(formatDiagnosticWithExcerpt(d, file, source));
        io.stderr.write(`${file}: ${c.red('invalid')}, not run\n`);
      }
      return 2;
    }

    // streamed while the execution runs: a crash or a kill leaves the log up to that moment
    eventsFile?.follow(rt, executionId);
    const progress = args.flags.quiet ? null : new ProgressPrinter(io, executionId);
    const summary = json ? null : new SummaryEvents(executionId);
    const off = rt.subscribe((e) => {
      progress?.onEvent(e);
      summary?.onEvent(e);
    });
    // the events logged before we subscribed (execution.requested/started)
    for (const e of rt.treeEvents(executionId)) {
      progress?.onEvent(e);
      summary?.onEvent(e);
    }
    if (progress) io.stderr.write(c.dim(`execution ${executionId}\n`));

    let interrupts = 0;
    unregister = io.onInterrupt(() => {
      interrupts++;
      if (interrupts === 1) {
        io.stderr.write(c.yellow('\ninterrupt: cancelling the execution (Ctrl-C again to exit at once)\n'));
        void rt.cancel(executionId, 'interrupted by the user (SIGINT)');
        // the execution may be over already, with children it started (`wait: false`) still running
        for (const child of rt.liveDescendants(executionId)) void rt.cancel(child, 'interrupted by the user (SIGINT)');
      } else {
        io.stderr.write(c.red('\ninterrupt: exiting without waiting for the cancellation\n'));
        eventsFile?.flush();
        io.hardExit(130);
      }
    });

    const outcome = await rt.waitForTerminal(executionId);
    // children still running (started with `wait: false`, or being cancelled after their parent
    // ended) are part of the run: waited for, so their work and their terminal events are not lost
    const live = rt.liveDescendants(executionId);
    if (live.length > 0) {
      if (!json) io.stderr.write(c.dim(`waiting for ${live.length} child execution${live.length > 1 ? 's' : ''} still running (Ctrl-C cancels)\n`));
      await rt.waitForDescendants(executionId);
    }
    // the workers of cancelled commands finish their pipelines (their last events) before the
    // document is taken, so that the log, --events-out and the document agree
    await rt.settle(2_000);
    off();
    progress?.finish();

    if (json) {
      // streamed: the events of a long run do not fit in one string
      await rt.writeDocument(executionId, (chunk) => writeOut(io, chunk));
      await writeOut(io, '\n');
    } else {
      // the events are walked from the log, not held in a document
      const doc = await rt.document(executionId, { events: false });
      io.stderr.write(summaryTable(doc, io, summary!.events()));
      if (outcome.status === 'cancelled') io.stderr.write(`${cancelledText(doc, summary!.events())}\n`);
      if (outcome.status === 'completed' && outcome.result !== undefined && outcome.result !== null) {
        const text = JSON.stringify(outcome.result);
        io.stdout.write(`${text.length > 2000 ? `${text.slice(0, 1997)}...` : text}\n`);
      }
    }
    // a Ctrl-C that cancelled children after the execution itself completed still ends the run as interrupted
    return outcome.status === 'completed' && interrupts === 0 ? 0 : 1;
  } finally {
    // closing waits for cancelled tool processes (their SIGTERM grace) and stores the workers'
    // last events: Ctrl-C stays handled meanwhile (a second one exits, and the exit hooks kill
    // what is left), and the events file is closed after it
    await rt.close();
    unregister?.();
    if (eventsFile) {
      eventsFile.close();
      if (!json && eventsFile.count > 0) io.stderr.write(c.dim(`${eventsFile.count} events written to ${args.options['events-out']}\n`));
    }
  }
}
