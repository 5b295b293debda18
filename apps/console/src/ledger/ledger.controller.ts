import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { AuditLog } from '../auth/audit-log';
import { requireRole, type Operator } from '../auth/roles';
import { CurrentOperator } from '../auth/session.guard';
import { ConsoleError } from '../http/console-error';
import { LedgerGateway, type Transaction } from './ledger-gateway';
import { WalletDirectory } from './wallet-directory';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{8,80}$/;
const MAX_CHART_ENTRIES = 1_000;
const HOLD_SCAN_PAGES = 5;

function pageSizeOf(value: string | undefined): number {
  const size = value === undefined ? 25 : Number(value);
  if (!Number.isInteger(size) || size < 1 || size > 200)
    throw new ConsoleError('INVALID_REQUEST', 'pageSize is a whole number from 1 to 200.');
  return size;
}

@Controller('api/tenants/:tenant')
export class LedgerController {
  constructor(
    private readonly gateway: LedgerGateway,
    private readonly directory: WalletDirectory,
    private readonly audit: AuditLog,
  ) {}

  @Get('wallets')
  async find(@CurrentOperator() op: Operator, @Param('tenant') tenant: string, @Query('q') q = '') {
    requireRole(op, tenant, 'viewer');
    return { wallets: await this.directory.find(tenant, q) };
  }

  @Get('wallets/:id')
  async wallet(@CurrentOperator() op: Operator, @Param('tenant') tenant: string, @Param('id') id: string) {
    requireRole(op, tenant, 'viewer');
    return this.gateway.getWallet(tenant, id);
  }

  /** A page of the wallet's transactions, newest first; type/status filter the page's rows. */
  @Get('wallets/:id/transactions')
  async transactions(
    @CurrentOperator() op: Operator,
    @Param('tenant') tenant: string,
    @Param('id') id: string,
    @Query('pageSize') pageSize: string | undefined,
    @Query('pageToken') pageToken = '',
    @Query('type') type = '',
    @Query('status') status = '',
  ) {
    requireRole(op, tenant, 'viewer');
    const page = await this.gateway.listTransactions(tenant, id, pageSizeOf(pageSize), pageToken);
    const keep = (t: Transaction) => (!type || t.type === type) && (!status || t.status === status);
    return { transactions: page.transactions.filter(keep), nextPageToken: page.nextPageToken };
  }

  /** Open holds (RESERVE still PENDING) among the wallet's latest transactions. */
  @Get('wallets/:id/holds')
  async holds(@CurrentOperator() op: Operator, @Param('tenant') tenant: string, @Param('id') id: string) {
    requireRole(op, tenant, 'viewer');
    const holds: Transaction[] = [];
    let pageToken = '';
    for (let page = 0; page < HOLD_SCAN_PAGES; page++) {
      const result = await this.gateway.listTransactions(tenant, id, 200, pageToken);
      holds.push(...result.transactions.filter((t) => t.type === 'RESERVE' && t.status === 'PENDING'));
      pageToken = result.nextPageToken;
      if (!pageToken) break;
    }
    return { holds, complete: !pageToken };
  }

  @Get('wallets/:id/children')
  async children(
    @CurrentOperator() op: Operator,
    @Param('tenant') tenant: string,
    @Param('id') id: string,
    @Query('pageToken') pageToken = '',
  ) {
    requireRole(op, tenant, 'viewer');
    return this.gateway.listChildWallets(tenant, id, pageToken);
  }

  /** The wallet's balance after each of its latest ledger entries, oldest first: the chart's points. */
  @Get('wallets/:id/balance-history')
  async balanceHistory(
    @CurrentOperator() op: Operator,
    @Param('tenant') tenant: string,
    @Param('id') id: string,
  ) {
    requireRole(op, tenant, 'viewer');
    await this.gateway.getWallet(tenant, id); // NOT_FOUND for another tenant's wallet
    const accountId = await this.directory.fundingAccountOf(tenant, id);
    if (!accountId) return { points: [], complete: true };
    const entries = await this.gateway.accountEntries(tenant, accountId, MAX_CHART_ENTRIES);
    const points = entries
      .filter((e) => e.createdAt && e.postedBalanceAfter !== '')
      .reverse()
      .map((e) => ({ at: e.createdAt, posted: e.postedBalanceAfter, available: e.availableBalanceAfter }));
    return { points, complete: entries.length < MAX_CHART_ENTRIES };
  }

  @Get('transactions/:id')
  async transaction(
    @CurrentOperator() op: Operator,
    @Param('tenant') tenant: string,
    @Param('id') id: string,
  ) {
    requireRole(op, tenant, 'viewer');
    const transaction = await this.gateway.getTransaction(tenant, id);
    const entries = await this.gateway.ledgerEntriesOf(tenant, id).catch((error: unknown) => {
      if (error instanceof ConsoleError && error.code === 'TENANT_NOT_CONFIGURED') return null;
      throw error;
    });
    return { transaction, entries };
  }

  /**
   * Void a hold, or reverse a posted transaction. Idempotent: the browser sends one key per
   * confirmation, and the same key returns the first result (the aggregator's idempotency).
   */
  @Post('transactions/:id/void')
  @HttpCode(200)
  async void(
    @CurrentOperator() op: Operator,
    @Param('tenant') tenant: string,
    @Param('id') id: string,
    @Body() body: unknown,
  ) {
    const { idempotencyKey, reason } = (body ?? {}) as { idempotencyKey?: unknown; reason?: unknown };
    const action = 'transaction.void';
    try {
      requireRole(op, tenant, 'operator');
      if (typeof idempotencyKey !== 'string' || !IDEMPOTENCY_KEY.test(idempotencyKey))
        throw new ConsoleError('INVALID_REQUEST', 'idempotencyKey: 8 to 80 printable characters.');
      const why =
        typeof reason === 'string' && reason.trim() ? reason.trim().slice(0, 200) : 'by an operator';
      const result = await this.gateway.voidTransaction(
        tenant,
        id,
        `console:${idempotencyKey}`,
        `${why} (${op.email})`,
      );
      await this.audit.record(op, {
        tenantId: tenant,
        action,
        target: id,
        outcome: 'ok',
        detail: {
          resultTransactionId: result.transactionId,
          type: result.type,
          replayed: result.replayed,
          reason: why,
        },
      });
      return result;
    } catch (error) {
      const refused =
        error instanceof ConsoleError &&
        error.code !== 'UPSTREAM_UNAVAILABLE' &&
        error.code !== 'UPSTREAM_FAILED';
      await this.audit.record(op, {
        tenantId: op.tenants.has(tenant) ? tenant : null,
        action,
        target: id,
        outcome: refused ? 'refused' : 'failed',
        detail: { error: error instanceof Error ? error.message : String(error) },
      });
      throw error;
    }
  }
}
