// `saldo`: the operator CLI. Speaks the public gRPC TransactionService for wallets and money, and
// runs the apps' own CLIs for operator functions. Exit codes: 0 done, 1 refused or failed,
// 2 a mistake on the command line, 3 the API could not be reached or did not answer (retry).
import { ConfigError } from '@saldo/config';
import { ApiFailure, explain, isServiceError } from './api';
import { parseArgs, UsageError } from './args';
import { eventCommands } from './commands/events';
import { hubCommands } from './commands/hub';
import { moneyCommands, type Command } from './commands/money';
import { MIGRATE_SUMMARY, runMigrate } from './commands/migrate';
import { MissingTool, operatorCommands } from './commands/operator';
import { createContext } from './context';
import { toJson } from './format';

const COMMANDS: Record<string, Command> = {
  ...moneyCommands,
  ...operatorCommands,
  ...eventCommands,
  ...hubCommands,
};
/** Words that take a sub-command ("wallet show"). */
const GROUPS = new Set(
  Object.keys(COMMANDS)
    .filter((name) => name.includes(' '))
    .map((name) => name.split(' ')[0] as string),
);

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(
    ([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`,
  );
  return `usage: saldo <command> [options]

commands:
${lines.join('\n')}
  ${'migrate <step>'.padEnd(width)}  ${MIGRATE_SUMMARY}

every command:
  --json               machine-readable output on stdout (events tail: one JSON event per line)
  --target host:port   the TransactionService (default: SALDO_TARGET, AGGREGATOR_GRPC_URL, 127.0.0.1:50051)
  --api-key KEY        the tenant's API key (default: SALDO_API_KEY, else SALDO_DEMO_API_KEY of .saldo/local.env)
  --tls                TLS to the API (or SALDO_TLS=true)
  --deadline-ms N      how long one call may take (default 15000)
  --help               the command's usage

Amounts are whole numbers of the currency's minor unit (USD 10.50 is 1050). Writes take
--idempotency-key; without one a key is generated and printed, so a retry can reuse it.
Exit codes: 0 done, 1 refused or failed, 2 usage mistake, 3 API unreachable, busy or no answer (retry with the same key).
`;
}

function resolve(argv: readonly string[]): { name: string; rest: string[] } | undefined {
  const [first, second] = argv;
  if (first && GROUPS.has(first) && second && COMMANDS[`${first} ${second}`])
    return { name: `${first} ${second}`, rest: argv.slice(2) };
  if (first && COMMANDS[first]) return { name: first, rest: argv.slice(1) };
  return undefined;
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === 'help' || argv[0] === '-h') {
    process.stdout.write(help());
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === 'migrate') return runMigrate(argv.slice(1)); // the migrator parses its own options
  const resolved = resolve(argv);
  if (!resolved) {
    const group = argv[0] && GROUPS.has(argv[0]) ? argv[0] : undefined;
    const choices = group
      ? Object.keys(COMMANDS)
          .filter((name) => name.startsWith(`${group} `))
          .join(', ')
      : 'see saldo --help';
    process.stderr.write(
      `saldo: unknown command "${argv.slice(0, group ? 2 : 1).join(' ')}" (${choices}).\n`,
    );
    return 2;
  }
  const command = COMMANDS[resolved.name] as Command;
  const json = resolved.rest.includes('--json');
  let target = 'the API';
  try {
    const args = parseArgs(resolved.rest, command.flags);
    if (args.has('help')) {
      process.stdout.write(`usage: ${command.usage}\n\n${command.summary}\n`);
      return 0;
    }
    const ctx = createContext(args);
    target = ctx.target;
    return await command.run(ctx, args);
  } catch (error) {
    return report(error, json, command, target);
  }
}

function report(error: unknown, json: boolean, command: Command, target: string): number {
  if (isServiceError(error)) error = explain(error, target);
  if (error instanceof ApiFailure) {
    if (json) process.stdout.write(toJson(error.toJSON()));
    process.stderr.write(`saldo: ${error.sentence}\n`);
    const facts = [
      `gRPC ${error.grpcStatus}`,
      error.reason && `reason ${error.reason}`,
      error.field && `field ${error.field}`,
    ];
    process.stderr.write(`       (${facts.filter(Boolean).join(', ')})\n`);
    return error.exitCode;
  }
  const usage = error instanceof UsageError;
  const message =
    error instanceof UsageError || error instanceof MissingTool || error instanceof ConfigError
      ? error.message
      : `unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
  if (json) process.stdout.write(toJson({ error: { message, status: usage ? 'USAGE' : 'FAILED' } }));
  process.stderr.write(`saldo: ${message}\n`);
  if (usage) process.stderr.write(`usage: ${command.usage}\n`);
  return usage ? 2 : 1;
}

// Exit once the work is done and stdout is flushed; a client library's lingering handle (a gRPC
// channel's timer, a Pub/Sub stream) must not keep an operator's shell waiting.
const EXIT_GRACE_MS = 1_000;
function exitWith(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
}

main(process.argv.slice(2)).then(exitWith, (error: unknown) => {
  process.stderr.write(`saldo: ${error instanceof Error ? error.message : String(error)}\n`);
  exitWith(1);
});
