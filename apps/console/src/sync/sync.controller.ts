import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { AuditLog } from '../auth/audit-log';
import { requireRole, type Operator } from '../auth/roles';
import { CurrentOperator } from '../auth/session.guard';
import { ConsoleError } from '../http/console-error';
import { CONNECTORS, ErpSyncView, limiterState, MAX_REPLAY_BATCH } from './erp-sync-view';

export const ERP_SYNC_METRICS_URL = 'ERP_SYNC_METRICS_URL';

@Controller('api/tenants/:tenant/sync')
export class SyncController {
  constructor(
    private readonly view: ErpSyncView,
    private readonly audit: AuditLog,
    @Inject(ERP_SYNC_METRICS_URL) private readonly metricsUrl: string,
  ) {}

  @Get('connectors')
  async connectors(@CurrentOperator() op: Operator, @Param('tenant') tenant: string) {
    requireRole(op, tenant, 'viewer');
    const [connectors, limiter] = await Promise.all([
      this.view.connectors(tenant),
      limiterState(this.metricsUrl),
    ]);
    return {
      connectors: connectors.map((c) => ({ ...c, limiter: limiter?.[c.connector] ?? null })),
      workerAnswered: limiter !== null,
    };
  }

  /** Dead letters of the tenant, grouped by reason (filters: connector, reason). */
  @Get('dead-letters')
  async deadLetters(
    @CurrentOperator() op: Operator,
    @Param('tenant') tenant: string,
    @Query('connector') connector?: string,
    @Query('reason') reason?: string,
  ) {
    requireRole(op, tenant, 'viewer');
    if (connector && !CONNECTORS.includes(connector as never))
      throw new ConsoleError('INVALID_REQUEST', `connector: one of ${CONNECTORS.join(', ')}.`);
    const letters = await this.view.deadLetters(tenant, {
      connector: connector || undefined,
      reason: reason || undefined,
    });
    const groups = new Map<string, typeof letters>();
    for (const letter of letters) groups.set(letter.reason, [...(groups.get(letter.reason) ?? []), letter]);
    return {
      groups: [...groups].map(([groupReason, records]) => ({
        reason: groupReason,
        count: records.length,
        records,
      })),
    };
  }

  @Post('dead-letters/replay')
  @HttpCode(200)
  async replay(@CurrentOperator() op: Operator, @Param('tenant') tenant: string, @Body() body: unknown) {
    const ids = (body as { ids?: unknown } | undefined)?.ids;
    try {
      requireRole(op, tenant, 'operator');
      if (
        !Array.isArray(ids) ||
        ids.length === 0 ||
        ids.length > MAX_REPLAY_BATCH ||
        !ids.every((id) => typeof id === 'string')
      )
        throw new ConsoleError('INVALID_REQUEST', `ids: 1 to ${MAX_REPLAY_BATCH} dead record ids.`);
      const result = await this.view.replay(tenant, ids as string[]);
      await this.audit.record(op, {
        tenantId: tenant,
        action: 'sync.replay',
        target: result.replayed.join(','),
        outcome: 'ok',
        detail: result,
      });
      return result;
    } catch (error) {
      await this.audit.record(op, {
        tenantId: op.tenants.has(tenant) ? tenant : null,
        action: 'sync.replay',
        target: Array.isArray(ids) ? ids.slice(0, 20).join(',') : '',
        outcome: error instanceof ConsoleError ? 'refused' : 'failed',
        detail: { error: error instanceof Error ? error.message : String(error) },
      });
      throw error;
    }
  }

  @Get('documents')
  async documents(@CurrentOperator() op: Operator, @Param('tenant') tenant: string) {
    requireRole(op, tenant, 'viewer');
    return { documents: await this.view.documents(tenant) };
  }
}
