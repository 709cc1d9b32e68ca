/**
 * `noetl` command line. Startup stays fast: this file imports nothing heavy; each command's module
 * (and through it the engine, tools, drivers) is loaded only when that command runs.
 */
import { UsageError } from './args';
import { processIo, type CliIo } from './io';

export { EXIT_STDOUT_CLOSED } from './io';

export const VERSION = '0.1.0';

export const USAGE = `noetl — NoETL v10 playbook engine

Usage:
  noetl run FILE [options]            run a playbook in this process (embedded mode)
  noetl validate FILE... [--json]     check playbooks (compiler-style diagnostics)
  noetl replay FILE.jsonl [--json]    rebuild an execution's state from a saved event log
  noetl conformance DIR [options]     run the conformance cases of DIR
  noetl help [COMMAND]                show help
  noetl --version

Exit codes: 0 completed/valid/all passed, 1 failed or cancelled, 2 rejected before running
(invalid playbook, bad arguments), 141 stdout closed by its reader (\`| head\`).
`;

export const COMMAND_HELP: Record<string, string> = {
  run: `Usage: noetl run FILE [options]

Runs FILE to its end in this process: the scheduler and N worker loops over an in-memory bus,
an in-memory event log and results under $NOETL_HOME/results (default ./.noetl/results).

Options:
  --payload JSON|@FILE     execution payload (merged over the workload); @FILE reads JSON/YAML
  --set KEY=VALUE          set one payload key (dotted keys nest; VALUE parsed as JSON, else a string;
                           a number JS cannot hold exactly, e.g. 12345678901234567890 or 1e400, stays
                           a string); repeatable, applied after --payload
  --credentials FILE       YAML/JSON map name -> {type, data}; also env NOETL_CREDENTIALS (path or inline JSON)
  --json                   print exactly one JSON document on stdout at the end (progress stays on stderr)
  --events-out FILE.jsonl  write the execution's event log (one JSON event per line) for \`noetl replay\`
  --workers N              worker loops (default 4)
  --strict                 strict templates: undefined names are errors
  --catalog DIR            where \`kind: playbook\` paths are looked up (repeatable)
  --quiet, -q              no progress output (the summary table is still printed)

Ctrl-C cancels the execution (it ends as cancelled); a second Ctrl-C exits at once.
Exit: 0 completed, 1 failed or cancelled, 2 invalid playbook or bad arguments.
`,
  validate: `Usage: noetl validate FILE... [--json]

Prints diagnostics as \`file:line:col severity CODE message\` with the offending line.
--json prints {"status": "valid"|"invalid", "diagnostics": [...]} for one file, and an array of
{"file", "status", "diagnostics"} for several. Exit 0 when every file is valid (warnings do not
fail), 2 otherwise.
`,
  replay: `Usage: noetl replay FILE.jsonl [--json] [--execution ID] [--playbook FILE] [--catalog DIR]...

Folds a saved event log (\`noetl run --events-out\`) into the execution's state and prints the same
JSON document as \`noetl run --json\` on stdout (never re-runs tools). Without --json a summary table
is also shown on stderr.
Options:
  --execution ID     the execution to rebuild (default: the root of the log)
  --playbook FILE    the playbook the log was made with (default: the file recorded in the log,
                     else a file under . or --catalog whose metadata.path and digest match)
  --catalog DIR      more places to look for the playbook (repeatable)
Exit: 0 completed, 1 failed or cancelled, 2 unreadable log or playbook not found.
`,
  conformance: `Usage: noetl conformance DIR [--mode embedded|mesh] [--json] [--filter NAME]

Runs every case NAME.yaml + NAME.expect.json of DIR in this process, with the HTTP fixture server
and the pg_test credential (env NOETL_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/test).
Prints PASS/FAIL lines and a last line \`N passed, M failed\`; then checks that no case secret
appears in any event. Exit 0 when everything passed, 1 otherwise.
Options:
  --mode embedded|mesh   embedded (default); mesh is not available yet and fails every case
  --filter NAME          only cases whose name contains NAME
  --json                 print a JSON report instead of the lines
  --workers N            worker loops per runtime (default 4)
`,
};

type CommandFn = (argv: string[], io: CliIo) => Promise<number>;

// Commands load on first use (`noetl --help` loads none). CommonJS `require` with literal
// specifiers: `import()` would go through Node's ESM loader, which does not resolve `.ts` under
// tsx's CJS hook (NOETL_TSX=1) or jest; literals let esbuild put every command in the bundle.
/* eslint-disable @typescript-eslint/no-require-imports */
const COMMANDS: Record<string, () => Promise<CommandFn>> = {
  run: async () => (require('./commands/run') as typeof import('./commands/run')).runCommand,
  validate: async () => (require('./commands/validate') as typeof import('./commands/validate')).validateCommand,
  replay: async () => (require('./commands/replay') as typeof import('./commands/replay')).replayCommand,
  conformance: async () => (require('./commands/conformance') as typeof import('./commands/conformance')).conformanceCommand,
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h') {
    io.stdout.write(USAGE);
    return 0;
  }
  if (cmd === '--version' || cmd === '-V' || cmd === 'version') {
    io.stdout.write(`noetl ${VERSION}\n`);
    return 0;
  }
  if (cmd === 'help') {
    const topic = rest[0];
    io.stdout.write(topic && COMMAND_HELP[topic] ? COMMAND_HELP[topic] : USAGE);
    return topic && !COMMAND_HELP[topic] ? 2 : 0;
  }
  const load = COMMANDS[cmd];
  if (!load) {
    io.stderr.write(`noetl: unknown command '${cmd}'\n\n${USAGE}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(COMMAND_HELP[cmd]);
    return 0;
  }
  try {
    return await (await load())(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`noetl ${cmd}: ${e.message}\n\n${COMMAND_HELP[cmd]}`);
      return 2;
    }
    io.stderr.write(`noetl ${cmd}: ${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  }
}
