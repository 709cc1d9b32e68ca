import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { NoetlError } from '@noetl/common';
import { parseJsonl, replayLog } from '@noetl/embedded';
import { parseArgs, UsageError } from '../args';
import { colorizer, type CliIo } from '../io';
import { summaryTable } from '../progress';

export async function replayCommand(argv: string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, { json: {}, execution: { value: true }, playbook: { value: true }, catalog: { value: true, repeat: true } });
  if (args.positionals.length !== 1) throw new UsageError(args.positionals.length ? 'replay takes exactly one FILE.jsonl' : 'no FILE.jsonl given');
  const file = args.positionals[0];
  let text: string;
  try {
    text = readFileSync(resolve(io.cwd, file), 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  }
  const c = colorizer(io);
  try {
    const warnings: string[] = [];
    const events = parseJsonl(text, {
      onTruncatedTail: (line) => warnings.push(`line ${line} is cut short (the run was interrupted while writing its log): ignored`),
    });
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
    io.stdout.write(`${JSON.stringify(r.document)}\n`);
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
