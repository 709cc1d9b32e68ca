import { resolve } from 'node:path';
import { NoetlError } from '@noetl/common';
import { readJsonlFile, replayLog, writeDocumentJson } from '@noetl/embedded';
import type { LoggedEvent } from '@noetl/events';
import { parseArgs, UsageError } from '../args';
import { colorizer, writeOut, type CliIo } from '../io';
import { summaryTable } from '../progress';

export async function replayCommand(argv: string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, { json: {}, execution: { value: true }, playbook: { value: true }, catalog: { value: true, repeat: true } });
  if (args.positionals.length !== 1) throw new UsageError(args.positionals.length ? 'replay takes exactly one FILE.jsonl' : 'no FILE.jsonl given');
  const file = args.positionals[0];
  const c = colorizer(io);
  const warnings: string[] = [];
  let events: LoggedEvent[];
  try {
    // read in chunks: the log of a long run can be larger than one string can hold
    events = readJsonlFile(resolve(io.cwd, file), {
      onTruncatedTail: (line) => warnings.push(`line ${line} is cut short (the run was interrupted while writing its log): ignored`),
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (typeof err.code === 'string' && typeof err.syscall === 'string') throw new UsageError(`cannot read ${file}: ${err.message}`);
    io.stderr.write(`noetl replay: ${err.message}\n`);
    return 2;
  }
  try {
    const r = replayLog(events, {
      executionId: args.options.execution,
      playbook: args.options.playbook,
      catalogDirs: args.lists.catalog ?? [],
      cwd: io.cwd,
    });
    warnings.push(...r.warnings);
    const status = r.document.status;
    if (status !== 'completed' && status !== 'failed' && status !== 'cancelled') {
      warnings.push(`the log ends before the execution did (status ${status}): this is the state its last event left`);
    }
    for (const w of warnings) io.stderr.write(`${c.yellow('warning')}: ${w}\n`);
    // streamed like `run --json`: the document of a long run can be larger than one string
    await writeDocumentJson(r.document, jsonTexts(r.document.events), (chunk) => writeOut(io, chunk));
    await writeOut(io, '\n');
    if (!args.flags.json) io.stderr.write(summaryTable(r.document, io));
    return r.document.status === 'completed' ? 0 : 1;
  } catch (e) {
    if (e instanceof NoetlError || (e as Error).message?.startsWith('line ')) {
      io.stderr.write(`noetl replay: ${(e as Error).message}\n`);
      return 2;
    }
    throw e;
  }
}

function* jsonTexts(events: Iterable<unknown>): Generator<string> {
  for (const e of events) yield JSON.stringify(e);
}
