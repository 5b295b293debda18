// Operator functions that already live in the apps' own CLIs (API keys, ledger verify, erp-sync):
// `saldo` runs them as child processes with the same environment (plus the local stack's secrets),
// so there is one implementation of each and `saldo` is only the front door.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { noMorePositionals, required, UsageError } from '../args';
import type { CliContext } from '../context';
import { table, toJson } from '../format';
import type { Command } from './money';

const out = (text: string) => process.stdout.write(text);
const CHILD_TIMEOUT_MS = 30 * 60_000; // ledger verify on a large ledger is long, but not endless
const MAX_CAPTURE_BYTES = 16 * 1024 * 1024;

/** Thrown when a delegated CLI is not built / not present. */
export class MissingTool extends Error {}

function appCli(ctx: CliContext, app: string): string {
  const script = path.join(ctx.root, 'dist/out-tsc/apps', app, 'src/cli.js');
  if (!existsSync(script))
    throw new MissingTool(
      `The ${app} CLI is not built (${path.relative(ctx.root, script)}); run \`npm run build\`.`,
    );
  return script;
}

/** Runs an app's CLI; its output goes straight to ours (progress included), or is captured. */
export function runAppCli(
  ctx: CliContext,
  app: string,
  args: readonly string[],
  capture = false,
): Promise<{ code: number; stdout: string }> {
  const script = appCli(ctx, app);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd: ctx.root,
      env: ctx.env,
      stdio: ['inherit', capture ? 'pipe' : 'inherit', 'inherit'],
    });
    let stdout = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      if (stdout.length < MAX_CAPTURE_BYTES) stdout += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), CHILD_TIMEOUT_MS);
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward).on('SIGTERM', forward);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      process.off('SIGINT', forward).off('SIGTERM', forward);
      resolve({ code: code ?? (signal ? 128 + 15 : 1), stdout });
    });
  });
}

async function delegate(ctx: CliContext, app: string, args: readonly string[]): Promise<number> {
  return (await runAppCli(ctx, app, args)).code;
}

/** `key id: …` / `tenant: …` / `key: …` lines of `api-keys create`. */
export function parseCreatedKey(text: string): { id: string; tenant: string; key: string } {
  const field = (label: string) => new RegExp(`^${label}:\\s*(\\S+)$`, 'm').exec(text)?.[1] ?? '';
  return { id: field('key id'), tenant: field('tenant'), key: field('key') };
}

/** Lines of `api-keys list`: id, tenant, hint, source, created, active | revoked <when>. */
export function parseKeyList(text: string): Array<Record<string, string | null>> {
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [id, tenant, hint, source, created, state, revokedAt] = line.trim().split(/\s+/);
      return {
        id: id ?? '',
        tenant: tenant ?? '',
        hint: hint ?? '',
        source: source ?? '',
        createdAt: created ?? '',
        revokedAt: state === 'revoked' ? (revokedAt ?? '') : null,
      };
    });
}

export const operatorCommands: Record<string, Command> = {
  'api-keys create': {
    summary: 'create an API key for a tenant (a new tenant starts with its first key); printed once',
    usage:
      'saldo api-keys create --tenant <id> [--scope wallets:read,wallets:write,erp:resolve] [--expires 30d|<RFC 3339>]',
    flags: { values: ['tenant', 'scope', 'expires'] },
    run: async (ctx, args) => {
      noMorePositionals(args, 0);
      const tenant = args.value('tenant');
      if (!tenant) throw new UsageError('Missing --tenant <id>: the tenant the key will act for.');
      const scope = args.value('scope');
      const expires = args.value('expires');
      const cliArgs = [
        'api-keys',
        'create',
        '--tenant',
        tenant,
        ...(scope ? ['--scope', scope] : []),
        ...(expires ? ['--expires', expires] : []),
      ];
      if (!ctx.json) return delegate(ctx, 'transaction-aggregator', cliArgs);
      const result = await runAppCli(ctx, 'transaction-aggregator', cliArgs, true);
      if (result.code === 0) out(toJson(parseCreatedKey(result.stdout)));
      return result.code;
    },
  },
  'api-keys revoke': {
    summary: 'revoke an API key at once',
    usage: 'saldo api-keys revoke <key id>',
    flags: {},
    run: async (ctx, args) => {
      const id = required(args, 0, 'the key id (a UUID, see saldo api-keys list)');
      noMorePositionals(args, 1);
      if (!ctx.json) return delegate(ctx, 'transaction-aggregator', ['api-keys', 'revoke', id]);
      const result = await runAppCli(ctx, 'transaction-aggregator', ['api-keys', 'revoke', id], true);
      if (result.code === 0) out(toJson({ revoked: id }));
      return result.code;
    },
  },
  'api-keys list': {
    summary: 'list API keys (never the keys themselves)',
    usage: 'saldo api-keys list [--tenant <id>]',
    flags: { values: ['tenant'] },
    run: async (ctx, args) => {
      noMorePositionals(args, 0);
      const tenant = args.value('tenant');
      const cliArgs = ['api-keys', 'list', ...(tenant ? ['--tenant', tenant] : [])];
      const result = await runAppCli(ctx, 'transaction-aggregator', cliArgs, true);
      if (result.code !== 0) return result.code;
      const keys = parseKeyList(result.stdout);
      if (ctx.json) out(toJson(keys));
      else if (keys.length === 0) out(tenant ? `No API keys for tenant ${tenant}.\n` : 'No API keys.\n');
      else
        out(
          table(
            ['KEY ID', 'TENANT', 'HINT', 'SOURCE', 'CREATED', 'STATE'],
            keys.map((k) => [
              k.id ?? '',
              k.tenant ?? '',
              k.hint ?? '',
              k.source ?? '',
              k.createdAt ?? '',
              k.revokedAt ? `revoked ${k.revokedAt}` : 'active',
            ]),
          ),
        );
      return 0;
    },
  },
  'ledger verify': {
    summary: 'recompute every balance and check every ledger invariant (read-only); exit 1 on a violation',
    usage: 'saldo ledger verify',
    flags: {},
    run: async (ctx, args) => {
      noMorePositionals(args, 0);
      return delegate(ctx, 'wallet-ledger', ['verify', ...(ctx.json ? ['--json'] : [])]);
    },
  },
  'erp backlog': {
    summary: "erp-sync's records by connector and state (from its /metrics)",
    usage: 'saldo erp backlog [--url http://127.0.0.1:9466]',
    flags: { values: ['url'] },
    run: async (ctx, args) => {
      noMorePositionals(args, 0);
      const host =
        ctx.env['ERP_SYNC_HTTP_HOST'] && ctx.env['ERP_SYNC_HTTP_HOST'] !== '0.0.0.0'
          ? ctx.env['ERP_SYNC_HTTP_HOST']
          : '127.0.0.1';
      const url = args.value('url') ?? `http://${host}:${ctx.env['ERP_SYNC_HTTP_PORT'] ?? '9466'}`;
      const counts = await erpRecordCounts(url);
      if (ctx.json) {
        out(toJson(counts));
        return 0;
      }
      if (counts.length === 0) {
        out('erp-sync holds no sync records yet.\n');
        return 0;
      }
      out(
        table(
          ['CONNECTOR', 'STATE', 'RECORDS'],
          counts.map((c) => [c.connector, c.state, String(c.records)]),
          [2],
        ),
      );
      const backlog = (states: readonly string[]) =>
        counts.filter((c) => states.includes(c.state)).reduce((sum, c) => sum + c.records, 0);
      out(
        `\nbacklog: ${backlog(['pending', 'failed', 'in_flight'])} record(s) waiting to be sent; dead: ${backlog(['dead'])} (saldo erp dead-letters).\n`,
      );
      return 0;
    },
  },
  'erp dead-letters': {
    summary: 'dead sync records with their reason',
    usage: 'saldo erp dead-letters',
    flags: {},
    run: async (ctx, args) => {
      noMorePositionals(args, 0);
      return delegate(ctx, 'erp-sync', ['dead-letters', 'list', ...(ctx.json ? ['--json'] : [])]);
    },
  },
  'erp replay': {
    summary: 'send a dead sync record again',
    usage: 'saldo erp replay <record id>',
    flags: {},
    run: async (ctx, args) => {
      const id = required(args, 0, 'the dead record id (see saldo erp dead-letters)');
      noMorePositionals(args, 1);
      if (!ctx.json) return delegate(ctx, 'erp-sync', ['replay', id]);
      const result = await runAppCli(ctx, 'erp-sync', ['replay', id], true);
      if (result.code === 0) out(toJson({ replayed: id, detail: result.stdout.trim() }));
      return result.code;
    },
  },
  'erp retention': {
    summary: 'delete expired processed events and vendor-write audit rows now (batched, one run at a time)',
    usage: 'saldo erp retention',
    flags: {},
    run: async (ctx, args) => {
      noMorePositionals(args, 0);
      return delegate(ctx, 'erp-sync', ['retention', 'run', ...(ctx.json ? ['--json'] : [])]);
    },
  },
  'erp documents': {
    summary: 'ERP documents behind shadow top-ups (--state rejected_unrecoverable: those for an operator)',
    usage: 'saldo erp documents [--state watching|confirmed|rejected|rejected_unrecoverable|written_off]',
    flags: { values: ['state'] },
    run: async (ctx, args) => {
      noMorePositionals(args, 0);
      const state = args.value('state');
      return delegate(ctx, 'erp-sync', [
        'documents',
        'list',
        ...(state ? ['--state', state] : []),
        ...(ctx.json ? ['--json'] : []),
      ]);
    },
  },
  'erp retry-reversal': {
    summary:
      'try again to reverse a rejected document top-up the ledger refused (money was spent); exit 1 if refused again',
    usage: 'saldo erp retry-reversal --tenant <id> <document id>',
    flags: { values: ['tenant'] },
    run: async (ctx, args) => {
      const document = required(args, 0, 'the ERP document id (see saldo erp documents)');
      noMorePositionals(args, 1);
      const tenant = args.value('tenant');
      if (!tenant) throw new UsageError('erp retry-reversal needs --tenant <id>.');
      return delegate(ctx, 'erp-sync', ['documents', 'retry-reversal', '--tenant', tenant, document]);
    },
  },
  'erp write-off': {
    summary: 'write off a rejected document top-up that cannot be reversed: the customer keeps the money',
    usage: 'saldo erp write-off --tenant <id> <document id> --reason "<who decided, why>"',
    flags: { values: ['tenant', 'reason'] },
    run: async (ctx, args) => {
      const document = required(args, 0, 'the ERP document id (see saldo erp documents)');
      noMorePositionals(args, 1);
      const tenant = args.value('tenant');
      const reason = args.value('reason');
      if (!tenant || !reason)
        throw new UsageError('erp write-off needs --tenant <id> and --reason "<text>".');
      return delegate(ctx, 'erp-sync', [
        'documents',
        'write-off',
        '--tenant',
        tenant,
        document,
        '--reason',
        reason,
      ]);
    },
  },
  'console create-admin': {
    summary:
      "the Console's first admin of one or more tenants (password from stdin or CONSOLE_ADMIN_PASSWORD)",
    usage: 'saldo console create-admin --email <address> --tenant <id>[,<id>…]',
    flags: { values: ['email', 'tenant'] },
    run: async (ctx, args) => {
      noMorePositionals(args, 0);
      return delegate(ctx, 'console', ['create-admin', ...consoleUserArgs(args, 'console create-admin')]);
    },
  },
  'console create-user': {
    summary: 'a Console user with a role (viewer, operator, admin) on one or more tenants',
    usage: 'saldo console create-user --email <address> --role viewer|operator|admin --tenant <id>[,<id>…]',
    flags: { values: ['email', 'tenant', 'role'] },
    run: async (ctx, args) => {
      noMorePositionals(args, 0);
      const role = args.value('role');
      if (!role) throw new UsageError('console create-user needs --role viewer|operator|admin.');
      return delegate(ctx, 'console', [
        'create-user',
        '--role',
        role,
        ...consoleUserArgs(args, 'console create-user'),
      ]);
    },
  },
  'erp reconcile': {
    summary: "compare a UTC day's revenue, cost and prepayments with NetSuite; exit 1 on differences",
    usage: 'saldo erp reconcile --tenant <id> --day <YYYY-MM-DD>',
    flags: { values: ['tenant', 'day'] },
    run: async (ctx, args) => {
      noMorePositionals(args, 0);
      const tenant = args.value('tenant');
      const day = args.value('day');
      if (!tenant || !day) throw new UsageError('erp reconcile needs --tenant <id> and --day <YYYY-MM-DD>.');
      if (!/^\d{4}-\d{2}-\d{2}$/.test(day))
        throw new UsageError(`--day must be a date like 2026-01-31; got "${day}".`);
      return delegate(ctx, 'erp-sync', [
        'reconcile',
        '--tenant',
        tenant,
        '--day',
        day,
        ...(ctx.json ? ['--json'] : []),
      ]);
    },
  },
};

/** --email and every tenant of --tenant a,b as the console CLI takes them. */
function consoleUserArgs(args: Parameters<Command['run']>[1], command: string): string[] {
  const email = args.value('email');
  const tenants = (args.value('tenant') ?? '').split(',').filter(Boolean);
  if (!email || tenants.length === 0)
    throw new UsageError(`${command} needs --email <address> and --tenant <id>.`);
  return ['--email', email, ...tenants.flatMap((tenant) => ['--tenant', tenant])];
}

export interface ErpRecordCount {
  connector: string;
  state: string;
  records: number;
}

/** saldo_erp_sync_records{connector,state} from erp-sync's Prometheus endpoint. */
async function erpRecordCounts(baseUrl: string): Promise<ErpRecordCount[]> {
  let text: string;
  try {
    const response = await fetch(`${baseUrl.replace(/\/$/, '')}/metrics`, {
      signal: AbortSignal.timeout(5_000),
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    text = await response.text();
  } catch (error) {
    throw new MissingTool(
      `Cannot read erp-sync's metrics at ${baseUrl}/metrics (${error instanceof Error ? error.message : String(error)}): is erp-sync running? Pass --url if it listens elsewhere.`,
    );
  }
  return parseRecordCounts(text);
}

export function parseRecordCounts(metrics: string): ErpRecordCount[] {
  const counts: ErpRecordCount[] = [];
  for (const line of metrics.split('\n')) {
    const match = /^saldo_erp_sync_records\{([^}]*)\}\s+([0-9.e+]+)$/.exec(line.trim());
    if (!match) continue;
    const labels = Object.fromEntries(
      [...(match[1] as string).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    counts.push({
      connector: labels['connector'] ?? '',
      state: labels['state'] ?? '',
      records: Number(match[2]),
    });
  }
  return counts.sort((a, b) => a.connector.localeCompare(b.connector) || a.state.localeCompare(b.state));
}
