// `saldo hub …`: the integration hub's operator commands, run by erp-sync's own CLI (one
// implementation; `saldo` is the front door). See docs/integration-hub.md.
import type { ParsedArgs } from '../args';
import type { CliContext } from '../context';
import type { Command } from './money';
import { runAppCli } from './operator';

const VALUES = [
  'tenant',
  'connector',
  'version',
  'id',
  'file',
  'to',
  'customer',
  'by',
  'author',
  'comment',
] as const;

function forward(sub: string, args: ParsedArgs, json: boolean): string[] {
  const flags = VALUES.flatMap((name) => {
    const value = args.value(name);
    return value === undefined ? [] : [`--${name}`, value];
  });
  return [
    'hub',
    sub,
    ...args.positionals,
    ...flags,
    ...(args.has('default') ? ['--default'] : []),
    ...(json ? ['--json'] : []),
  ];
}

function hubCommand(sub: string, summary: string, usage: string): Command {
  return {
    summary,
    usage: `saldo hub ${usage}`,
    flags: { values: VALUES, switches: ['default'] },
    run: async (ctx: CliContext, args: ParsedArgs) =>
      (await runAppCli(ctx, 'erp-sync', forward(sub, args, ctx.json))).code,
  };
}

export const hubCommands: Record<string, Command> = {
  'hub status': hubCommand(
    'status',
    'the integration hub: customers, cursors, quarantine, review queue, paused fields',
    'status [--tenant T]',
  ),
  'hub mappings': hubCommand(
    'mappings',
    'field mapping versions: list, show, diff, save, restore, preview, suggest',
    'mappings list|show|diff|save|restore|preview|suggest --tenant T [...]',
  ),
  'hub conflicts': hubCommand(
    'conflicts',
    'the conflict audit (candidates, rule, winner, why)',
    'conflicts --tenant T [--customer C]',
  ),
  'hub customer': hubCommand(
    'customer',
    'a hub customer record with per-field source and time',
    'customer --tenant T <customer>',
  ),
  'hub review': hubCommand(
    'review',
    'duplicate candidates: list, merge, split',
    'review list [--tenant T] | review merge|split <id> [--by who]',
  ),
  'hub quarantine': hubCommand(
    'quarantine',
    'records that failed validation: list, retry',
    'quarantine list [--tenant T] | quarantine retry <id>',
  ),
  'hub sync': hubCommand(
    'sync',
    'run a hub sync now (schema check, read, resolve, write back)',
    'sync now --tenant T [--connector X]',
  ),
};
