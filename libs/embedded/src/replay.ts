import { resolve } from 'node:path';
import { NoetlError } from '@noetl/common';
import type { LoggedEvent } from '@noetl/events';
import { FileCatalog, type CatalogEntry } from './catalog';
import { buildDocument } from './document';
import { replayEvents } from './engine-port';
import { readFsRefSync } from './hydrate';
import type { RunDocument } from './types';

export interface ReplayOptions {
  /** execution to rebuild (default: the root of the log) */
  executionId?: string;
  /** playbook file (default: the file recorded in execution.requested labels, else a metadata.path search) */
  playbook?: string;
  catalogDirs?: string[];
  cwd?: string;
}

export interface ReplayResult {
  executionId: string;
  playbookFile: string;
  document: RunDocument;
  /** warnings (e.g. the playbook file changed since the run) */
  warnings: string[];
}

function pickExecution(events: readonly LoggedEvent[], wanted?: string): string {
  if (wanted) {
    if (!events.some((e) => e.execution_id === wanted)) throw new NoetlError('NOT_FOUND', `no event of execution ${wanted} in the log`);
    return wanted;
  }
  const root = events.find((e) => e.execution_id === e.root_execution_id) ?? events[0];
  if (!root) throw new NoetlError('E_REPLAY', 'the log is empty');
  return root.execution_id;
}

/**
 * The playbook of a logged execution: `--playbook`, else the file recorded by the embedded runtime
 * in `execution.requested.labels.file`, else a file whose `metadata.path` matches, below the cwd and
 * the catalog dirs. A digest different from `execution.started.playbook.digest` is a warning.
 */
export function findLogPlaybook(events: readonly LoggedEvent[], executionId: string, opts: ReplayOptions = {}): { entry: CatalogEntry; warnings: string[] } {
  const cwd = opts.cwd ?? process.cwd();
  const catalog = new FileCatalog({ dirs: [cwd, ...(opts.catalogDirs ?? [])], cwd });
  const own = events.filter((e) => e.execution_id === executionId);
  const requested = own.find((e) => e.event_type === 'execution.requested');
  const started = own.find((e) => e.event_type === 'execution.started');
  const identity = started?.event_type === 'execution.started' ? started.payload.playbook : undefined;
  const warnings: string[] = [];
  const candidates: string[] = [];
  if (opts.playbook) candidates.push(resolve(cwd, opts.playbook));
  else {
    const labelled = requested?.event_type === 'execution.requested' ? requested.payload.labels?.file : undefined;
    if (labelled) candidates.push(labelled);
    const path = identity?.path ?? (requested?.event_type === 'execution.requested' && 'path' in requested.payload.playbook ? requested.payload.playbook.path : undefined);
    if (path) {
      const found = catalog.resolvePath(path);
      if (found.file !== null) candidates.push(found.file);
    }
  }
  const problems: string[] = [];
  for (const file of candidates) {
    const r = catalog.load(file);
    if (!r.ok) {
      problems.push(`${file}: ${r.diagnostics.map((d) => `${d.code} ${d.message}`).join('; ')}`);
      continue;
    }
    if (identity?.digest && r.entry.playbook.digest !== identity.digest) {
      const msg = `${file} has digest ${r.entry.playbook.digest}, the log was made with ${identity.digest}`;
      if (!opts.playbook) {
        problems.push(msg);
        continue;
      }
      warnings.push(msg);
    }
    return { entry: r.entry, warnings };
  }
  throw new NoetlError(
    'E_REPLAY_PLAYBOOK',
    `cannot find the playbook of execution ${executionId}${identity ? ` (${identity.path}, ${identity.digest})` : ''}${problems.length ? `: ${problems.join('; ')}` : ''}; pass --playbook FILE`,
  );
}

/** Rebuilds an execution's `--json` document from a saved log (T10.6: nothing re-runs). */
export function replayLog(events: readonly LoggedEvent[], opts: ReplayOptions = {}): ReplayResult {
  const executionId = pickExecution(events, opts.executionId);
  const { entry, warnings } = findLogPlaybook(events, executionId, opts);
  const own = events.filter((e) => e.execution_id === executionId).sort((a, b) => a.seq - b.seq);
  const state = replayEvents(entry.playbook, own);
  return { executionId, playbookFile: entry.file, document: buildDocument(state, own, (ref) => readFsRefSync(ref)), warnings };
}
