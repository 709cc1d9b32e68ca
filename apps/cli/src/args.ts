/**
 * A small, dependency-free argument parser (keeps `noetl --help` fast): long options
 * `--name value` / `--name=value`, boolean flags, repeatable options, `--` ends options.
 */
export interface OptionSpec {
  /** takes a value (otherwise a boolean flag) */
  value?: boolean;
  /** may be given several times (values collected in order) */
  repeat?: boolean;
  /** one-letter alias, e.g. `j` for `-j` */
  short?: string;
}

export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, boolean>;
  options: Record<string, string>;
  lists: Record<string, string[]>;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function parseArgs(argv: readonly string[], spec: Record<string, OptionSpec>): ParsedArgs {
  const out: ParsedArgs = { positionals: [], flags: {}, options: {}, lists: {} };
  const byShort = new Map(Object.entries(spec).filter(([, s]) => s.short).map(([n, s]) => [s.short as string, n]));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      inline = eq < 0 ? undefined : a.slice(eq + 1);
    } else if (a.length === 2 && a[0] === '-' && a[1] !== '-') {
      name = byShort.get(a[1]);
      if (!name) throw new UsageError(`unknown option ${a}`);
    } else {
      out.positionals.push(a);
      continue;
    }
    const s = spec[name];
    if (!s) throw new UsageError(`unknown option --${name}`);
    if (!s.value) {
      if (inline !== undefined) throw new UsageError(`option --${name} takes no value`);
      out.flags[name] = true;
      continue;
    }
    let v = inline;
    if (v === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`option --${name} needs a value`);
      v = argv[++i];
    }
    if (s.repeat) (out.lists[name] ??= []).push(v);
    else out.options[name] = v;
  }
  return out;
}
