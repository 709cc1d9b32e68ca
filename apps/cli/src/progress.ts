import type { LoggedEvent } from '@noetl/events';
import { colorizer, type CliIo } from './io';

interface LoopProgress {
  step: string;
  total: number;
  done: number;
  failed: number;
  cancelled: number;
  lastPrintedDecile: number;
}

function ms(fromIso: string | undefined, toIso: string | undefined): number | null {
  if (!fromIso || !toIso) return null;
  const d = Date.parse(toIso) - Date.parse(fromIso);
  return Number.isFinite(d) ? Math.max(0, d) : null;
}

export function formatDuration(msv: number | null): string {
  if (msv === null) return '';
  if (msv < 1000) return `${Math.round(msv)} ms`;
  if (msv < 60_000) return `${(msv / 1000).toFixed(msv < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(msv / 60_000);
  return `${m}m${Math.round((msv % 60_000) / 1000)}s`;
}

function errText(e: unknown): string {
  if (!e || typeof e !== 'object') return '';
  const o = e as { kind?: string; code?: string; message?: string };
  const msg = (o.message ?? '').split('\n')[0];
  return `${o.kind ?? 'error'}${o.code ? ` ${o.code}` : ''}${msg ? `: ${msg.length > 200 ? `${msg.slice(0, 197)}...` : msg}` : ''}`;
}

/**
 * Live progress of one execution on stderr: a line per step start and finish (with duration), a
 * progress bar for loops (`fetch_pages 340/1000`; redrawn in place on a TTY, every 10% otherwise),
 * retries as they happen, child executions as they start and end.
 */
export class ProgressPrinter {
  private readonly c: ReturnType<typeof colorizer>;
  private readonly tty: boolean;
  private readonly scheduledAt = new Map<string, string>();
  private readonly loops = new Map<string, LoopProgress>();
  private barShown = false;
  private activeBar: string | null = null;
  private lastDraw = 0;

  constructor(
    private readonly io: CliIo,
    private readonly rootExecutionId: string,
  ) {
    this.c = colorizer(io);
    this.tty = Boolean(io.stderr.isTTY);
  }

  onEvent(e: LoggedEvent): void {
    const own = e.execution_id === this.rootExecutionId;
    const p = e.payload as unknown as Record<string, unknown>;
    const step = e.step ?? '';
    if (!own) {
      if (e.event_type === 'execution.started') this.line(this.c.dim(`  ↳ child execution ${e.execution_id} started (${(p.playbook as { path?: string })?.path ?? ''})`));
      else if (e.event_type === 'execution.completed' || e.event_type === 'execution.failed' || e.event_type === 'execution.cancelled') {
        this.line(this.c.dim(`  ↳ child execution ${e.execution_id} ${e.event_type.split('.')[1]}`));
      }
      return;
    }
    switch (e.event_type) {
      case 'step.scheduled':
        if (e.step_run_id) this.scheduledAt.set(e.step_run_id, e.ts);
        break;
      case 'step.started':
        this.line(`${this.c.dim('▶')} ${step}`);
        break;
      case 'loop.started': {
        const total = Number(p.total ?? 0);
        this.loops.set(e.step_run_id ?? step, { step, total, done: 0, failed: 0, cancelled: 0, lastPrintedDecile: 0 });
        this.line(`${this.c.dim('▶')} ${step} ${this.c.dim(`loop over ${total} item${total === 1 ? '' : 's'} (${String(p.mode)}${p.mode === 'parallel' ? `, ${String(p.max_in_flight)} in flight` : ''})`)}`);
        this.drawBar(e.step_run_id ?? step);
        break;
      }
      case 'loop.iteration.done':
      case 'loop.iteration.failed':
      case 'loop.iteration.cancelled': {
        const lp = this.loops.get(e.step_run_id ?? step);
        if (!lp) break;
        lp.done++;
        if (e.event_type === 'loop.iteration.failed') lp.failed++;
        else if (e.event_type === 'loop.iteration.cancelled') lp.cancelled++;
        this.drawBar(e.step_run_id ?? step);
        break;
      }
      case 'task.attempt.failed': {
        const d = p.decision as { do?: string; attempts?: number; delay_ms?: number } | undefined;
        const outcome = p.outcome as { error?: unknown } | undefined;
        const where = `${step}/${e.task ?? ''}${e.iteration_index !== undefined ? `[${e.iteration_index}]` : ''}`;
        const attempt = e.attempt ?? Number(p.attempt ?? 1);
        const failed = `↻ ${where} attempt ${attempt} failed (${errText(outcome?.error)})`;
        if (d?.do === 'retry') {
          // the worker decides `retry` on the last attempt too (with `attempts` and no `delay_ms`): it
          // then fails the task with retry_exhausted, so no retry follows
          const retries = d.attempts === undefined ? d.delay_ms !== undefined : attempt < d.attempts;
          const of = d.attempts ? ` of ${d.attempts}` : '';
          this.line(this.c.yellow(retries
            ? `${failed}; retry ${attempt + 1}${of}${d.delay_ms ? ` in ${formatDuration(d.delay_ms)}` : ''}`
            : `${failed}; no retries left${d.attempts ? ` (${d.attempts} attempt${d.attempts === 1 ? '' : 's'})` : ''}`));
        } else if (attempt > 1) {
          // retries were announced, then the policy chose something else for this attempt
          this.line(this.c.yellow(`${failed}; not retried (${d?.do ?? 'fail'})`));
        }
        break;
      }
      case 'step.done':
        this.line(`${this.c.green('✔')} ${step} ${this.c.dim(`(${formatDuration(ms(this.scheduledAt.get(e.step_run_id ?? ''), e.ts))})`)}`);
        break;
      case 'loop.done': {
        const stats = p.stats as { total?: number; succeeded?: number; failed?: number } | undefined;
        this.loops.delete(e.step_run_id ?? step);
        this.clearBar();
        this.line(
          `${this.c.green('✔')} ${step} ${this.c.dim(`${stats?.total ?? 0} iterations, ${stats?.succeeded ?? 0} ok, ${stats?.failed ?? 0} failed (${formatDuration(ms(this.scheduledAt.get(e.step_run_id ?? ''), e.ts))})`)}`,
        );
        break;
      }
      case 'step.failed':
        this.loops.delete(e.step_run_id ?? step);
        this.clearBar();
        this.line(`${this.c.red('✖')} ${step} ${this.c.dim(`(${formatDuration(ms(this.scheduledAt.get(e.step_run_id ?? ''), e.ts))})`)} ${errText(p.error)}`);
        break;
      case 'step.skipped':
        this.line(`${this.c.dim('○')} ${step} ${this.c.dim('skipped (admission denied)')}`);
        break;
      case 'step.cancelled':
        this.loops.delete(e.step_run_id ?? step);
        this.clearBar();
        this.line(`${this.c.yellow('■')} ${step} cancelled${p.reason ? ` (${String(p.reason)})` : ''}`);
        break;
      case 'execution.cancel_requested':
        this.line(this.c.yellow(`cancelling execution ${e.execution_id}${p.reason ? ` (${String(p.reason)})` : ''}...`));
        break;
      default:
        break;
    }
  }

  /** Clears a progress bar left on the terminal. */
  finish(): void {
    this.clearBar();
  }

  private line(s: string): void {
    const bar = this.activeBar;
    this.clearBar();
    this.io.stderr.write(`${s}\n`);
    if (bar && this.loops.has(bar)) this.drawBar(bar);
  }

  private drawBar(key: string): void {
    const lp = this.loops.get(key);
    if (!lp) return;
    if (this.tty) {
      // redraw at most every 80 ms (a loop of 10,000 fast iterations must not flood the terminal)
      const t = Date.now();
      if (this.barShown && this.activeBar === key && lp.done < lp.total && t - this.lastDraw < 80) return;
      this.lastDraw = t;
      const width = 24;
      const filled = lp.total > 0 ? Math.round((lp.done / lp.total) * width) : width;
      const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
      const failed = lp.failed ? this.c.red(` ${lp.failed} failed`) : '';
      const cancelled = lp.cancelled ? this.c.yellow(` ${lp.cancelled} cancelled`) : '';
      this.io.stderr.write(`\r\u001b[K  ${lp.step} ${bar} ${lp.done}/${lp.total}${failed}${cancelled}`);
      this.barShown = true;
      this.activeBar = key;
      return;
    }
    // not a terminal: one line per 10% (loops of at least 20 items)
    if (lp.total < 20) return;
    const decile = Math.floor((lp.done / lp.total) * 10);
    if (decile > lp.lastPrintedDecile && lp.done < lp.total) {
      lp.lastPrintedDecile = decile;
      const notes = [lp.failed ? `${lp.failed} failed` : '', lp.cancelled ? `${lp.cancelled} cancelled` : ''].filter(Boolean).join(', ');
      this.io.stderr.write(`  ${lp.step} ${lp.done}/${lp.total}${notes ? ` (${notes})` : ''}\n`);
    }
  }

  private clearBar(): void {
    if (this.barShown) this.io.stderr.write('\r\u001b[K');
    this.barShown = false;
    this.activeBar = null;
  }
}

/** Per-step timing from the log, for the summary table. */
export function stepTimings(events: Iterable<LoggedEvent>, executionId: string): Map<string, number> {
  const start = new Map<string, string>();
  const total = new Map<string, number>();
  for (const e of events) {
    if (e.execution_id !== executionId || !e.step_run_id) continue;
    if (e.event_type === 'step.scheduled') start.set(e.step_run_id, e.ts);
    else if (['step.done', 'step.failed', 'step.cancelled', 'loop.done'].includes(e.event_type) && e.step) {
      const d = ms(start.get(e.step_run_id), e.ts);
      if (d !== null) total.set(e.step, (total.get(e.step) ?? 0) + d);
    }
  }
  return total;
}

/** Above this many steps the summary table shows only its first and last SUMMARY_EDGE_ROWS rows. */
export const SUMMARY_MAX_ROWS = 50;
export const SUMMARY_EDGE_ROWS = 20;

/**
 * The final summary table (stderr) of a run or a replay (bounded: see SUMMARY_MAX_ROWS). `events` (default: the document's) is
 * walked once: a lazy sequence from the log keeps a long run's events out of memory.
 */
export function summaryTable(
  doc: { execution_id: string; status: string; error: { kind?: string; code?: string; message?: string; step?: string } | null; steps: Record<string, { status?: string; runs: number }>; events: readonly LoggedEvent[] },
  io: CliIo,
  events: Iterable<LoggedEvent> = doc.events,
): string {
  const c = colorizer(io);
  let first: LoggedEvent | undefined;
  let last: LoggedEvent | undefined;
  const timings = stepTimings(
    (function* own() {
      for (const e of events) {
        if (e.execution_id !== doc.execution_id) continue;
        first ??= e;
        last = e;
        yield e;
      }
    })(),
    doc.execution_id,
  );
  const row = ([name, s]: [string, { status?: string; runs: number }]) => [name, s.status ?? '-', String(s.runs), formatDuration(timings.get(name) ?? null)];
  const entries = Object.entries(doc.steps);
  // a long chain (10,000 steps) would print a useless 10,000-line table: show its first and last
  // SUMMARY_EDGE_ROWS steps and one line for the steps in between, counted by status
  const elide = entries.length > SUMMARY_MAX_ROWS;
  const shown = elide ? [...entries.slice(0, SUMMARY_EDGE_ROWS), ...entries.slice(-SUMMARY_EDGE_ROWS)] : entries;
  const rows = shown.map(row);
  const head = ['STEP', 'STATUS', 'RUNS', 'TIME'];
  const w = head.map((h, i) => rows.reduce((m, r) => Math.max(m, r[i].length), h.length));
  const fmt = (r: string[]) => `  ${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${r[2].padStart(w[2])}  ${r[3]}`.trimEnd();
  const paint = (r: string[]) => {
    const s = fmt(r);
    return r[1] === 'failed' ? c.red(s) : r[1] === 'cancelled' || r[1] === 'skipped' ? c.yellow(s) : s;
  };
  const lines = rows.map(paint);
  if (elide) {
    const hidden = entries.slice(SUMMARY_EDGE_ROWS, -SUMMARY_EDGE_ROWS);
    const byStatus = new Map<string, number>();
    for (const [, s] of hidden) byStatus.set(s.status ?? '-', (byStatus.get(s.status ?? '-') ?? 0) + 1);
    const counts = [...byStatus].map(([st, n]) => `${n.toLocaleString('en-US')} ${st}`).join(', ');
    lines.splice(SUMMARY_EDGE_ROWS, 0, c.dim(`  … ${hidden.length.toLocaleString('en-US')} more steps (${counts})`));
  }
  let out = `\n${c.bold(fmt(head))}\n${lines.join('\n')}\n`;
  const total = formatDuration(ms(first?.ts, last?.ts));
  const statusText = doc.status === 'completed' ? c.green(doc.status) : doc.status === 'failed' ? c.red(doc.status) : c.yellow(doc.status);
  out += `\n${statusText}${total ? ` in ${total}` : ''} ${c.dim(`(execution ${doc.execution_id})`)}\n`;
  if (doc.error) out += `${c.red('error')}${doc.error.step ? ` in step ${doc.error.step}` : ''}: ${errText(doc.error)}\n`;
  return out;
}
