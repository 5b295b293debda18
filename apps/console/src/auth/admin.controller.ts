import { Controller, Get, Param, Query } from '@nestjs/common';
import { Accounts } from './accounts';
import { AuditLog } from './audit-log';
import { requireRole, type Operator } from './roles';
import { CurrentOperator } from './session.guard';

@Controller('api/tenants/:tenant')
export class AdminController {
  constructor(
    private readonly accounts: Accounts,
    private readonly audit: AuditLog,
  ) {}

  /** The audit log of the tenant, newest first (admins). */
  @Get('audit')
  async auditLog(
    @CurrentOperator() op: Operator,
    @Param('tenant') tenant: string,
    @Query('before') before?: string,
  ) {
    requireRole(op, tenant, 'admin');
    const entries = await this.audit.list(tenant, 100, before && /^\d+$/.test(before) ? before : undefined);
    return { entries };
  }

  @Get('users')
  async users(@CurrentOperator() op: Operator, @Param('tenant') tenant: string) {
    requireRole(op, tenant, 'admin');
    return { users: await this.accounts.listUsers(tenant) };
  }
}
