// Small, strict argument parsing shared by the CLI commands: every flag must be
// known, every value must parse, and a mistake is a CliError naming the flag.

/** A usage mistake: printed as one line, exit code 2. */
export class CliError extends Error {
  override name = 'CliError';
}

export interface FlagSpec {
  /** 'boolean' flags take no value; `--no-<name>` sets them false. */
  type: 'boolean' | 'string' | 'integer';
  default?: boolean | string | number;
}

export interface ParsedArgs {
  flags: Record<string, boolean | string | number | undefined>;
  positional: string[];
}

/** Parses `--name value`, `--name=value`, `--flag` and `--no-flag`; anything else is positional. */
export function parseArgs(argv: readonly string[], spec: Record<string, FlagSpec>): ParsedArgs {
  const flags: ParsedArgs['flags'] = {};
  for (const [name, s] of Object.entries(spec)) flags[name] = s.default;
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--') || arg === '--') {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    let name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    let inline = eq < 0 ? undefined : arg.slice(eq + 1);
    let negated = false;
    if (!(name in spec) && name.startsWith('no-') && spec[name.slice(3)]?.type === 'boolean') {
      name = name.slice(3);
      negated = true;
    }
    const s = spec[name];
    if (s === undefined) {
      const known = Object.keys(spec).map((k) => `--${k}`).join(', ');
      throw new CliError(`unknown option ${arg} (known: ${known})`);
    }
    if (s.type === 'boolean') {
      if (inline !== undefined) throw new CliError(`option --${name} takes no value, got '${inline}'`);
      flags[name] = !negated;
      continue;
    }
    if (inline === undefined) {
      inline = argv[++i];
      if (inline === undefined) throw new CliError(`option --${name} needs a value`);
    }
    if (s.type === 'integer') {
      const n = Number(inline);
      if (!Number.isSafeInteger(n) || n <= 0) throw new CliError(`option --${name} needs a positive integer, got '${inline}'`);
      flags[name] = n;
    } else {
      flags[name] = inline;
    }
  }
  return { flags, positional };
}
