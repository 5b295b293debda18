import { Body, Controller, Get, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ConsoleError } from '../http/console-error';
import { Accounts, SESSION_COOKIE } from './accounts';
import { AuditLog } from './audit-log';
import type { Operator } from './roles';
import { SignInThrottle } from './sign-in-throttle';
import { CurrentOperator, Public } from './session.guard';

export const COOKIE_SECURE = 'CONSOLE_COOKIE_SECURE';

const sessionView = (operator: Pick<Operator, 'email' | 'tenants' | 'csrfToken'>) => ({
  email: operator.email,
  tenants: [...operator.tenants].map(([tenantId, role]) => ({ tenantId, role })),
  csrfToken: operator.csrfToken,
});

@Controller('api')
export class AuthController {
  private readonly throttle = new SignInThrottle();

  constructor(
    private readonly accounts: Accounts,
    private readonly audit: AuditLog,
    @Inject(COOKIE_SECURE) private readonly secureCookies: boolean,
  ) {}

  @Public()
  @Post('session')
  @HttpCode(200)
  async signIn(@Body() body: unknown, @Res({ passthrough: true }) response: Response) {
    const { email, password } = (body ?? {}) as { email?: unknown; password?: unknown };
    if (typeof email !== 'string' || typeof password !== 'string' || !email || !password)
      throw new ConsoleError('INVALID_REQUEST', 'Give an e-mail address and a password.');
    const address = email.trim().toLowerCase().slice(0, 254);
    const waitMs = this.throttle.blockedForMs(address);
    if (waitMs > 0)
      throw new ConsoleError(
        'TOO_MANY_ATTEMPTS',
        `Too many failed sign-ins for this address; try again in ${Math.ceil(waitMs / 60_000)} min.`,
      );
    const user = await this.accounts.authenticate(email, password);
    if (!user) {
      this.throttle.failed(address);
      await this.audit.record(
        { userId: null, email: email.slice(0, 254) },
        {
          tenantId: null,
          action: 'sign-in',
          target: '',
          outcome: 'refused',
        },
      );
      throw new ConsoleError('UNAUTHENTICATED', 'That e-mail address and password do not match an account.');
    }
    this.throttle.succeeded(address);
    const session = await this.accounts.openSession(user.id);
    response.cookie(SESSION_COOKIE, session.token, {
      httpOnly: true,
      secure: this.secureCookies,
      sameSite: 'strict',
      path: '/',
      expires: session.expiresAt,
    });
    await this.audit.record(
      { userId: user.id, email: user.email },
      {
        tenantId: null,
        action: 'sign-in',
        target: '',
        outcome: 'ok',
      },
    );
    const operator = await this.accounts.operatorOf(session.token);
    return sessionView(operator!);
  }

  @Get('session')
  current(@CurrentOperator() operator: Operator) {
    return sessionView(operator);
  }

  @Post('session/end')
  @HttpCode(200)
  async signOut(@Req() request: Request, @Res({ passthrough: true }) response: Response) {
    const token = (request.cookies as Record<string, string>)[SESSION_COOKIE];
    if (token) await this.accounts.closeSession(token);
    response.clearCookie(SESSION_COOKIE, {
      httpOnly: true,
      secure: this.secureCookies,
      sameSite: 'strict',
      path: '/',
    });
    return { signedOut: true };
  }
}
