import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ConsoleError } from '../http/console-error';
import { MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS } from './passwords';
import { Accounts } from './accounts';
import { AuditLog } from './audit-log';
import { isRole, requireRole, type Operator } from './roles';
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

  /**
   * Gives a user a role on this tenant (admins). A new user needs an initial password (12+
   * characters, handed over out of band); an existing one keeps theirs. role "none" removes the
   * user from this tenant. Audited.
   */
  @Post('users')
  @HttpCode(200)
  async setUser(@CurrentOperator() op: Operator, @Param('tenant') tenant: string, @Body() body: unknown) {
    const { email, role, password } = (body ?? {}) as { email?: unknown; role?: unknown; password?: unknown };
    const target = typeof email === 'string' ? email.trim().toLowerCase() : '';
    try {
      requireRole(op, tenant, 'admin');
      if (!/^[^@\s]+@[^@\s]+$/.test(target) || target.length > 254)
        throw new ConsoleError('INVALID_REQUEST', "Give the user's e-mail address.");
      if (role !== 'none' && !isRole(role))
        throw new ConsoleError('INVALID_REQUEST', 'role: viewer, operator, admin or none.');
      if (target === op.email && role !== 'admin')
        throw new ConsoleError('REFUSED', 'You cannot lower or remove your own admin role.');
      let created = false;
      if (await this.accounts.userExists(target)) {
        await this.accounts.setRole(target, tenant, role === 'none' ? null : role);
      } else {
        if (role === 'none') throw new ConsoleError('NOT_FOUND', `No user ${target}.`);
        if (
          typeof password !== 'string' ||
          password.length < MIN_PASSWORD_CHARS ||
          password.length > MAX_PASSWORD_CHARS
        )
          throw new ConsoleError(
            'INVALID_REQUEST',
            `A new user needs an initial password of ${MIN_PASSWORD_CHARS} to ${MAX_PASSWORD_CHARS} characters.`,
          );
        await this.accounts.upsertUser({ email: target, password, tenants: [{ tenantId: tenant, role }] });
        created = true;
      }
      await this.audit.record(op, {
        tenantId: tenant,
        action: created ? 'user.create' : role === 'none' ? 'user.remove' : 'user.role',
        target,
        outcome: 'ok',
        detail: { role },
      });
      return { email: target, role, created };
    } catch (error) {
      await this.audit.record(op, {
        tenantId: op.tenants.has(tenant) ? tenant : null,
        action: 'user.role',
        target,
        outcome: error instanceof ConsoleError ? 'refused' : 'failed',
        detail: {
          role: typeof role === 'string' ? role : null,
          error: error instanceof Error ? error.message : String(error),
        },
      });
      throw error;
    }
  }
}
