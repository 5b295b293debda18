// `saldo events tail`: ledger events as they are published, through a temporary subscription on
// the ledger-events topic (deleted on exit; it also expires on its own after a day unused, so an
// interrupted tail leaves nothing behind for long).
import { PubSub, type Message, type Subscription } from '@google-cloud/pubsub';
import { randomBytes } from 'node:crypto';
import { noMorePositionals, parseCount, UsageError } from '../args';
import type { CliContext } from '../context';
import { enumLabel } from '../format';
import type { Command } from './money';

const out = (text: string) => process.stdout.write(text);
const LOCAL_EMULATOR = '127.0.0.1:8085';
const LOCAL_PROJECT = 'saldo-local';
const SUBSCRIPTION_TTL_S = 24 * 3600; // Pub/Sub's minimum expiration
const RETENTION_S = 600;

interface WalletState {
  walletId?: string;
  currency?: string;
  postedBalance?: string;
  availableBalance?: string;
  postedDelta?: string;
  version?: string;
}

export interface LedgerEventBody {
  eventId?: string;
  tenantId?: string;
  type?: string;
  occurredAt?: string;
  part?: number;
  parts?: number;
  wallet?: WalletState;
  transaction?: { transactionId?: string; action?: string; kind?: string; idempotencyKey?: string };
  businessAction?: { action?: string; productCode?: string };
}

/** One event on one line: time, type, tenant, wallet and version, the movement, balances after. */
export function eventLine(event: LedgerEventBody): string {
  const wallet = event.wallet;
  const delta = wallet?.postedDelta ?? '0';
  const signed = delta.startsWith('-') || delta === '0' ? delta : `+${delta}`;
  const action = event.businessAction?.action || event.transaction?.action || '';
  const product = event.businessAction?.productCode ? ` ${event.businessAction.productCode}` : '';
  return [
    event.occurredAt ?? '',
    enumLabel(event.type, 'LEDGER_EVENT_TYPE_').padEnd(26),
    `tenant=${event.tenantId ?? ''}`,
    wallet ? `wallet=${wallet.walletId} v${wallet.version ?? '0'}` : 'system',
    `${enumLabel(action)}${product}`,
    wallet
      ? `posted ${signed} → ${wallet.postedBalance ?? '0'} ${wallet.currency ?? ''}, available ${wallet.availableBalance ?? '0'}`
      : '',
    event.transaction?.transactionId ? `tx=${event.transaction.transactionId}` : '',
  ]
    .filter(Boolean)
    .join('  ');
}

function pubsubSettings(ctx: CliContext): { projectId: string; emulator: string | undefined } {
  const local = Object.keys(ctx.localEnv).length > 0;
  const emulator =
    ctx.env['PUBSUB_EMULATOR_HOST'] ??
    (local && !ctx.env['GOOGLE_CLOUD_PROJECT'] ? LOCAL_EMULATOR : undefined);
  const projectId =
    ctx.env['PUBSUB_PROJECT_ID'] ?? ctx.env['GOOGLE_CLOUD_PROJECT'] ?? (emulator ? LOCAL_PROJECT : undefined);
  if (!projectId)
    throw new UsageError(
      'No Google Cloud project: set GOOGLE_CLOUD_PROJECT (and PUBSUB_EMULATOR_HOST for an emulator).',
    );
  return { projectId, emulator };
}

export const eventCommands: Record<string, Command> = {
  'events tail': {
    summary: 'print ledger events as they are published (temporary subscription)',
    usage:
      'saldo events tail [--tenant <id>] [--wallet <id>] [--limit <n>] [--idle-timeout <seconds>] [--topic ledger-events]',
    flags: { values: ['tenant', 'wallet', 'limit', 'idle-timeout', 'topic'] },
    run: async (ctx, args) => {
      noMorePositionals(args, 0);
      const limit = args.has('limit') ? parseCount(args.value('limit'), '--limit', 0, 1_000_000) : Infinity;
      const idleMs = args.has('idle-timeout')
        ? parseCount(args.value('idle-timeout'), '--idle-timeout', 0, 86_400) * 1000
        : 0;
      const tenant = args.value('tenant');
      const walletId = args.value('wallet');
      const topicName = args.value('topic') ?? ctx.env['LEDGER_EVENTS_TOPIC'] ?? 'ledger-events';
      const { projectId, emulator } = pubsubSettings(ctx);
      if (emulator) process.env['PUBSUB_EMULATOR_HOST'] = emulator;
      const pubsub = new PubSub({ projectId });
      const name = `saldo-cli-tail-${randomBytes(6).toString('hex')}`;
      let subscription: Subscription;
      try {
        [subscription] = await pubsub.topic(topicName).createSubscription(name, {
          enableMessageOrdering: true,
          expirationPolicy: { ttl: { seconds: SUBSCRIPTION_TTL_S } },
          messageRetentionDuration: { seconds: RETENTION_S },
        });
      } catch (error) {
        await pubsub.close().catch(() => undefined);
        const code = (error as { code?: number }).code;
        throw new UsageError(
          code === 5
            ? `The topic "${topicName}" does not exist in project ${projectId}${emulator ? ` on the emulator at ${emulator}` : ''}; is the stack running (npm start)?`
            : `Cannot subscribe to "${topicName}" in project ${projectId}${emulator ? ` on ${emulator}` : ''}: ${error instanceof Error ? error.message : String(error)}.`,
        );
      }
      process.stderr.write(
        `Tailing ${topicName} (project ${projectId}${emulator ? `, emulator ${emulator}` : ''}) through temporary subscription ${name}; Ctrl-C to stop.\n`,
      );
      let seen = 0;
      await new Promise<void>((resolve) => {
        let idleTimer: NodeJS.Timeout | undefined;
        const finish = () => {
          clearTimeout(idleTimer);
          process.off('SIGINT', finish).off('SIGTERM', finish);
          resolve();
        };
        const armIdle = () => {
          if (!idleMs) return;
          clearTimeout(idleTimer);
          idleTimer = setTimeout(finish, idleMs);
        };
        process.once('SIGINT', finish).once('SIGTERM', finish);
        armIdle();
        subscription.on('message', (message: Message) => {
          message.ack();
          if (seen >= limit) return;
          let event: LedgerEventBody;
          try {
            event = JSON.parse(message.data.toString('utf8')) as LedgerEventBody;
          } catch {
            process.stderr.write(`(message ${message.id} is not JSON; skipped)\n`);
            return;
          }
          if (tenant && event.tenantId !== tenant) return;
          if (walletId && event.wallet?.walletId !== walletId) return;
          seen += 1;
          out(ctx.json ? `${JSON.stringify(event)}\n` : `${eventLine(event)}\n`);
          armIdle();
          if (seen >= limit) finish();
        });
        subscription.on('error', (error: Error) => {
          process.stderr.write(`Subscription error: ${error.message}\n`);
          finish();
        });
      });
      await subscription.close().catch(() => undefined);
      await subscription.delete().catch(() => undefined);
      await pubsub.close().catch(() => undefined);
      if (!ctx.json) process.stderr.write(`${seen} event(s); subscription ${name} deleted.\n`);
      return 0;
    },
  },
};
