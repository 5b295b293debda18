import 'reflect-metadata';
import { ConfigError, envSchemas, loadConfig } from '@saldo/config';
import { runMigrationsUnderLock } from '@saldo/postgres';
import { z } from 'zod';
import { loadErpSyncConfig, retentionEnvShape } from './config';
import { createErpSyncDataSource, ERP_SYNC_MIGRATION_LOCK } from './database/erp-sync-data-source';
import { mapLedgerEvent } from './mapping/accounting';
import { ledgerEventSchema } from './mapping/ledger-event';
import { TenantConfigError } from './mapping/tenant-config';
import { formatReport, reconcile } from './reconcile/reconcile';
import { RETENTION_LOCK, retentionPolicyOf, runRetention } from './retention/retention';
import { HUB_USAGE, runHubCommand } from './hub/hub-cli';
import { createConnectors, createHub, loadTenants } from './runtime';
import { createLogger } from '@saldo/logging';
import { AggregatorGateway, parseTenantKeys } from './shadow/aggregator-gateway';
import { DocumentStore, type DocumentState } from './shadow/document-store';
import { SyncStore } from './store/sync-store';

const USAGE = `usage: erp-sync <command>

commands:
  migrate                          apply pending migrations of the erp_sync schema (advisory lock)
  dead-letters list [--json]       list dead sync records with their reason
  replay <id>                      send a dead record again (unmappable events are mapped again
                                   with the current tenant configuration)
  reconcile --tenant T --day D     compare the ledger's revenue, cost and prepayment totals of UTC
            [--json]               day D (YYYY-MM-DD) with what NetSuite holds; exit 1 on differences
  documents list [--state S]       ERP documents behind shadow top-ups (S: watching, confirmed,
            [--json]               rejected, rejected_unrecoverable, written_off), newest first
  documents retry-reversal         a rejected document whose reversal was refused (the money was
            --tenant T <document>  spent): try the reversal again, e.g. once the customer has money
  documents write-off              such a document, written off instead: the customer keeps the
            --tenant T <document>  money and it stops counting as shadow (finance books the loss in
            --reason "<text>"      the ERP); the reason (who decided, why) is kept
  retention run [--json]           delete expired processed_events and external_writes now (in
                                   batches, under the same advisory lock as the worker's hourly run);
                                   prints the rows deleted per table; exit 1 when another run holds
                                   the lock
${HUB_USAGE}`;

const cliConfigSchema = z.object({
  DATABASE_URL: envSchemas.url('postgres://postgres@127.0.0.1:5432/saldo', ['postgres', 'postgresql']),
});

function option(flags: string[], name: string): string | undefined {
  const i = flags.indexOf(name);
  return i >= 0 ? flags[i + 1] : undefined;
}

const json = (value: unknown) =>
  JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);

async function main(argv: string[]): Promise<number> {
  const [command, ...flags] = argv;
  if (!command || command === '--help' || command === 'help') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  const { DATABASE_URL } = loadConfig(cliConfigSchema);
  // Validated before connecting: a retention window below its floor is refused, not run.
  const retentionConfig = command === 'retention' ? loadConfig(z.object(retentionEnvShape)) : undefined;
  const db = await createErpSyncDataSource(DATABASE_URL, 2).initialize();
  const store = new SyncStore(db);
  try {
    switch (command) {
      case 'migrate': {
        const applied = await runMigrationsUnderLock(db, ERP_SYNC_MIGRATION_LOCK);
        process.stdout.write(
          applied.length
            ? `erp-sync: applied ${applied.length} migration(s): ${applied.map((m) => m.name).join(', ')}\n`
            : 'erp-sync: database is up to date\n',
        );
        return 0;
      }
      case 'dead-letters': {
        if (flags[0] !== 'list') break;
        const dead = await store.listDead(1_000);
        if (flags.includes('--json')) process.stdout.write(`${json(dead)}\n`);
        else {
          for (const r of dead) {
            process.stdout.write(
              `${r.id}\t${r.connector}\t${r.recordKey}\tattempts=${r.attempts}\t${r.updatedAt.toISOString()}\t${r.deadReason}\n`,
            );
          }
          process.stdout.write(`${dead.length} dead record(s)\n`);
        }
        return 0;
      }
      case 'replay': {
        const id = flags[0];
        if (!id || !/^\d+$/.test(id)) break;
        const record = await store.get(id);
        if (!record) throw new Error(`no sync record ${id}`);
        if (record.state !== 'dead') throw new Error(`sync record ${id} is ${record.state}, not dead`);
        if (record.connector === 'mapping') {
          const tenants = loadTenants(loadErpSyncConfig());
          const event = ledgerEventSchema.parse(record.payload);
          const mapping = mapLedgerEvent(event, tenants);
          if (mapping.outcome === 'unmappable') throw new Error(`still unmappable: ${mapping.reason}`);
          const externalId = await store.replayUnmappable(id, mapping.accounting, event.eventId, 0);
          process.stdout.write(`replayed ${id}: recorded for journal ${externalId}\n`);
        } else {
          await store.requeueDead(id);
          process.stdout.write(
            `replayed ${id}: ${record.connector} ${record.recordKey} is pending again; the worker sends it\n`,
          );
        }
        return 0;
      }
      case 'reconcile': {
        const tenantId = option(flags, '--tenant');
        const day = option(flags, '--day');
        if (!tenantId || !day) break;
        const config = loadErpSyncConfig();
        const tenant = loadTenants(config)[tenantId];
        if (!tenant) throw new Error(`tenant "${tenantId}" is not in the accounting configuration`);
        const netsuite = createConnectors(
          { ...config, ZENDESK_ENABLED: false, ACTIVECAMPAIGN_ENABLED: false, NETSUITE_ENABLED: true },
          store,
        ).netsuite!;
        const report = await reconcile(db, netsuite, tenantId, tenant, day);
        process.stdout.write(flags.includes('--json') ? `${json(report)}\n` : formatReport(report));
        return report.differences.length > 0 || report.unmappedErpAccounts.length > 0 ? 1 : 0;
      }
      case 'documents': {
        const [sub, ...rest] = flags;
        const documents = new DocumentStore(db);
        if (sub === 'list') {
          const state = option(rest, '--state') as DocumentState | undefined;
          const rows = await documents.list(state, 1_000);
          if (rest.includes('--json')) process.stdout.write(`${json(rows)}\n`);
          else {
            for (const r of rows)
              process.stdout.write(
                `${r.tenant_id}\t${r.document_type}\t${r.document_id}\t${r.state}\terp=${r.erp_status ?? '-'}\ttx=${r.transaction_id}\t${r.last_error ?? ''}\n`,
              );
            process.stdout.write(`${rows.length} document(s)\n`);
          }
          return 0;
        }
        if (sub !== 'retry-reversal' && sub !== 'write-off') break;
        const tenantId = option(rest, '--tenant');
        const reason = option(rest, '--reason') ?? '';
        const documentId = rest.find((arg, i) => !arg.startsWith('--') && !rest[i - 1]?.startsWith('--'));
        if (!tenantId || !documentId || (sub === 'write-off' && !reason)) break;
        const document = await documents.find(tenantId, documentId);
        if (!document) throw new Error(`erp-sync has no document ${documentId} of tenant ${tenantId}`);
        if (document.state !== 'rejected_unrecoverable')
          throw new Error(
            `document ${documentId} is ${document.state}; only a rejected_unrecoverable document is for an operator`,
          );
        const config = loadErpSyncConfig();
        const gateway = new AggregatorGateway(
          config.ERP_SYNC_AGGREGATOR_TARGET,
          parseTenantKeys(config.ERP_SYNC_AGGREGATOR_API_KEYS),
          config.ERP_SYNC_AGGREGATOR_DEADLINE_MS,
        );
        try {
          const result =
            sub === 'write-off'
              ? await gateway.resolve(tenantId, documentId, 'written_off', reason)
              : await gateway.resolve(tenantId, documentId, 'rejected', reason || 'operator retry');
          if (
            result.state === 'rejected' ||
            result.state === 'rejected_unrecoverable' ||
            result.state === 'written_off'
          )
            await documents.settledByOperator(tenantId, documentId, result.state, result.reason);
          process.stdout.write(`${documentId}: ${result.state} (${result.reason})\n`);
          // A retry the ledger refused again is not a success: the document still needs an operator.
          return result.state === 'rejected_unrecoverable' ? 1 : 0;
        } finally {
          gateway.close();
        }
      }
      case 'hub': {
        const config = loadErpSyncConfig();
        const hub = createHub(
          config,
          db,
          createConnectors(config, store),
          createLogger('erp-sync-hub', 'warn'),
        );
        return await runHubCommand(hub.service, flags, (text) => process.stdout.write(text));
      }
      case 'retention': {
        if (flags[0] !== 'run' || !retentionConfig) break;
        const policy = retentionPolicyOf(retentionConfig);
        const result = await runRetention(db, policy);
        if (flags.includes('--json')) process.stdout.write(`${json({ ...policy, ...result })}\n`);
        else if (!result.ran)
          process.stdout.write(`retention: another run holds the lock ${RETENTION_LOCK}; nothing deleted\n`);
        else {
          process.stdout.write(
            `processed_events\t${result.deleted.processed_events} deleted (older than ${policy.processedEventsDays} days)\n` +
              `external_writes\t${result.deleted.external_writes} deleted (older than ${policy.auditDays} days)\n` +
              (result.complete ? '' : 'more expired rows remain: run again (or let the worker continue)\n'),
          );
        }
        return result.ran ? 0 : 1;
      }
    }
    process.stderr.write(`unknown or incomplete command "${argv.join(' ')}"\n\n${USAGE}`);
    return 2;
  } finally {
    await db.destroy();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      error instanceof ConfigError || error instanceof TenantConfigError
        ? `${error.message}\n`
        : `erp-sync: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  },
);
