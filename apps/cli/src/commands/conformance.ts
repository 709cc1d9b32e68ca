import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  createEmbeddedExecutor, formatCaseLine, formatSummaryLine, runConformance, toJsonReport, unavailableExecutor, MESH_UNAVAILABLE,
  type CaseExecutor,
} from '@noetl/conformance';
import { parseArgs, UsageError } from '../args';
import { colorizer, type CliIo } from '../io';

export async function conformanceCommand(argv: string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, { mode: { value: true }, json: {}, filter: { value: true }, workers: { value: true } });
  if (args.positionals.length !== 1) throw new UsageError(args.positionals.length ? 'conformance takes exactly one DIR' : 'no DIR given');
  const dir = resolve(io.cwd, args.positionals[0]);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`not a directory: ${args.positionals[0]}`);
  const mode = args.options.mode ?? 'embedded';
  if (mode !== 'embedded' && mode !== 'mesh') throw new UsageError(`--mode must be embedded or mesh, got '${mode}'`);
  const workers = args.options.workers === undefined ? 4 : Number(args.options.workers);
  if (!Number.isInteger(workers) || workers < 1) throw new UsageError(`--workers must be a positive integer`);
  const json = Boolean(args.flags.json);
  const c = colorizer(io);

  let executor: CaseExecutor & { close?(): Promise<void> };
  if (mode === 'mesh') {
    io.stderr.write(`noetl conformance: ${MESH_UNAVAILABLE}; every case fails\n`);
    executor = unavailableExecutor('mesh', MESH_UNAVAILABLE);
  } else {
    executor = createEmbeddedExecutor({ workers, env: io.env, cwd: io.cwd, log: (l) => io.stderr.write(`${c.dim(l)}\n`) });
  }
  try {
    const results = await runConformance({
      dir,
      filter: args.options.filter,
      executor,
      env: io.env,
      onResult: json
        ? undefined
        : (r) => io.stdout.write(`${formatCaseLine(r)}\n`),
    });
    if (json) {
      // stdout stays one JSON document; the summary line goes to stderr
      io.stdout.write(`${JSON.stringify(toJsonReport(mode, dir, results), null, 2)}\n`);
      io.stderr.write(`${formatSummaryLine(results)}\n`);
    } else {
      io.stdout.write(`${formatSummaryLine(results)}\n`);
    }
    return results.every((r) => r.ok) ? 0 : 1;
  } finally {
    await executor.close?.();
  }
}
