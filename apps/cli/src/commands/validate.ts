import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Diagnostic } from '@noetl/common';
import { loadPlaybook } from '@noetl/dsl';
import { parseArgs, UsageError } from '../args';
import { diagnosticJson, formatDiagnosticWithExcerpt } from '../diagnostics-format';
import { colorizer, type CliIo } from '../io';

export interface FileValidation {
  file: string;
  status: 'valid' | 'invalid';
  diagnostics: Diagnostic[];
  source: string | null;
}

/** Validates one file: read errors become an `E_IO` diagnostic (the file is invalid). */
export function validateFile(file: string, cwd: string): FileValidation {
  let source: string;
  try {
    source = readFileSync(resolve(cwd, file), 'utf8');
  } catch (e) {
    const d: Diagnostic = { code: 'E_IO', severity: 'error', message: `cannot read file: ${(e as Error).message}`, line: 1, column: 1, path: '', file };
    return { file, status: 'invalid', diagnostics: [d], source: null };
  }
  const r = loadPlaybook(source, { file });
  const invalid = !r.ok || r.diagnostics.some((d) => d.severity === 'error');
  return { file, status: invalid ? 'invalid' : 'valid', diagnostics: r.diagnostics, source };
}

export async function validateCommand(argv: string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, { json: {} });
  if (args.positionals.length === 0) throw new UsageError('no FILE given');
  const results = args.positionals.map((f) => validateFile(f, io.cwd));
  const anyInvalid = results.some((r) => r.status === 'invalid');
  if (args.flags.json) {
    const docs = results.map((r) => ({
      ...(results.length > 1 ? { file: r.file } : {}),
      status: r.status,
      diagnostics: r.diagnostics.map((d) => diagnosticJson(d, r.file)),
    }));
    io.stdout.write(`${JSON.stringify(results.length === 1 ? docs[0] : docs, null, 2)}\n`);
    return anyInvalid ? 2 : 0;
  }
  const c = colorizer(io);
  const o = colorizer(io, io.stdout);
  for (const r of results) {
    for (const d of r.diagnostics) {
      const text = formatDiagnosticWithExcerpt(d, r.file, r.source);
      io.stderr.write(d.severity === 'error' ? text.replace(' error ', ` ${c.red('error')} `) : text.replace(' warning ', ` ${c.yellow('warning')} `));
    }
    const errors = r.diagnostics.filter((d) => d.severity === 'error').length;
    const warnings = r.diagnostics.length - errors;
    const tail = warnings ? ` (${warnings} warning${warnings > 1 ? 's' : ''})` : '';
    io.stdout.write(
      r.status === 'valid'
        ? `${r.file}: ${o.green('valid')}${tail}\n`
        : `${r.file}: ${o.red('invalid')}, ${errors} error${errors === 1 ? '' : 's'}${warnings ? `, ${warnings} warning${warnings > 1 ? 's' : ''}` : ''}\n`,
    );
  }
  return anyInvalid ? 2 : 0;
}
