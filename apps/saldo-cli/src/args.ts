// Command-line parsing for `saldo`: positionals, `--flag value`, `--flag=value`, boolean switches
// and repeatable flags. Every command declares what it accepts, so a typo is refused with a sentence
// instead of being silently ignored.

/** A mistake on the command line: printed with the command's usage, exit code 2. */
export class UsageError extends Error {}

export interface FlagSpec {
  /** Flags that take no value (`--json`, `--all`). */
  switches?: readonly string[];
  /** Flags that take a value. */
  values?: readonly string[];
  /** Value flags that may be given more than once (`--metadata k=v --metadata k2=v2`). */
  repeatable?: readonly string[];
}

export interface ParsedArgs {
  positionals: string[];
  has(name: string): boolean;
  value(name: string): string | undefined;
  values(name: string): string[];
}

/** Flags every command accepts (connection and output). */
export const GLOBAL_FLAGS: Required<FlagSpec> = {
  switches: ['json', 'help', 'tls'],
  values: ['target', 'api-key', 'deadline-ms'],
  repeatable: [],
};

const MAX_ARGS = 200;

export function parseArgs(argv: readonly string[], spec: FlagSpec): ParsedArgs {
  if (argv.length > MAX_ARGS)
    throw new UsageError(`Too many arguments (${argv.length}; at most ${MAX_ARGS}).`);
  const switches = new Set([...GLOBAL_FLAGS.switches, ...(spec.switches ?? [])]);
  const repeatable = new Set(spec.repeatable ?? []);
  const valued = new Set([...GLOBAL_FLAGS.values, ...(spec.values ?? []), ...repeatable]);
  const positionals: string[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq >= 0 ? eq : undefined);
    if (switches.has(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value.`);
      flags.set(name, ['true']);
      continue;
    }
    if (!valued.has(name)) throw new UsageError(`Unknown option --${name}.`);
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i += 1;
    }
    if (value === undefined || (eq < 0 && value.startsWith('--')))
      throw new UsageError(`--${name} needs a value.`);
    const seen = flags.get(name) ?? [];
    if (seen.length > 0 && !repeatable.has(name)) throw new UsageError(`--${name} is given more than once.`);
    flags.set(name, [...seen, value]);
  }
  return {
    positionals,
    has: (name) => flags.has(name),
    value: (name) => flags.get(name)?.[0],
    values: (name) => flags.get(name) ?? [],
  };
}

/** The positional at `index`, or a usage error naming what is missing. */
export function required(args: ParsedArgs, index: number, what: string): string {
  const value = args.positionals[index];
  if (value === undefined || value === '') throw new UsageError(`Missing ${what}.`);
  return value;
}

export function noMorePositionals(args: ParsedArgs, count: number): void {
  const extra = args.positionals.slice(count);
  if (extra.length > 0)
    throw new UsageError(`Unexpected argument${extra.length > 1 ? 's' : ''}: ${extra.join(' ')}.`);
}

const MAX_AMOUNT = 9_223_372_036_854_775_807n;

/**
 * An amount of minor units as the API wants it: digits only, 1..int64 max. Never a float: "10.50"
 * is refused with a hint instead of being rounded.
 */
export function parseAmount(raw: string, what = 'amount'): string {
  if (!/^[0-9]+$/.test(raw)) {
    throw new UsageError(
      `The ${what} must be a whole number of minor units, digits only (e.g. 1050 for USD 10.50, 15000 for IDR 15000); got "${raw}".`,
    );
  }
  const value = BigInt(raw);
  if (value < 1n || value > MAX_AMOUNT)
    throw new UsageError(`The ${what} must be between 1 and ${MAX_AMOUNT} minor units; got ${raw}.`);
  return value.toString();
}

/** A positive whole number option (page sizes, limits, seconds), bounded. */
export function parseCount(raw: string | undefined, what: string, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^[0-9]+$/.test(raw) || Number(raw) < 1 || Number(raw) > max)
    throw new UsageError(`${what} must be a whole number from 1 to ${max}; got "${raw}".`);
  return Number(raw);
}

/** `--metadata key=value` pairs as a map. */
export function parseMetadata(pairs: readonly string[]): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--metadata takes key=value; got "${pair}".`);
    metadata[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return metadata;
}
