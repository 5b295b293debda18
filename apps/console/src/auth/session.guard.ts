import {
  type CanActivate,
  createParamDecorator,
  type ExecutionContext,
  Injectable,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { timingSafeEqual } from 'node:crypto';
import { ConsoleError } from '../http/console-error';
import { Accounts, SESSION_COOKIE } from './accounts';
import type { Operator } from './roles';

const PUBLIC = 'console:public';
/** A route anyone may call (sign-in). It still passes the same-origin and JSON checks. */
export const Public = () => SetMetadata(PUBLIC, true);

type ConsoleRequest = Request & { operator?: Operator };

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const hostOf = (origin: string) => {
  try {
    return new URL(origin).host;
  } catch {
    return '';
  }
};

const sameText = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * Every /api route: the session cookie names the operator (else 401), and a state-changing request
 * must (1) come from this origin when the browser says where it comes from, (2) be JSON, which a
 * cross-site form cannot send without a CORS preflight we never grant, and (3) carry the session's
 * CSRF token in X-CSRF-Token (synchronizer token). The cookie is also SameSite=Strict.
 */
@Injectable()
export class SessionGuard implements CanActivate {
  constructor(
    private readonly accounts: Accounts,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<ConsoleRequest>();
    const unsafe = !SAFE_METHODS.has(request.method);
    if (unsafe) {
      const origin = request.get('origin');
      if (origin && hostOf(origin) !== request.get('host'))
        throw new ConsoleError('CSRF_REJECTED', 'This request comes from another site.');
      if (!request.is('application/json'))
        throw new ConsoleError('CSRF_REJECTED', 'A change must be sent as application/json.');
    }
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, [context.getHandler(), context.getClass()]))
      return true;
    const token = (request.cookies as Record<string, string> | undefined)?.[SESSION_COOKIE];
    const operator = token ? await this.accounts.operatorOf(token) : null;
    if (!operator) throw new ConsoleError('UNAUTHENTICATED', 'Sign in first (or again: the session ended).');
    if (unsafe && !sameText(request.get('x-csrf-token') ?? '', operator.csrfToken))
      throw new ConsoleError('CSRF_REJECTED', 'The CSRF token is missing or wrong; reload the page.');
    request.operator = operator;
    return true;
  }
}

export const CurrentOperator = createParamDecorator((_data: unknown, context: ExecutionContext): Operator => {
  const operator = context.switchToHttp().getRequest<ConsoleRequest>().operator;
  if (!operator) throw new ConsoleError('UNAUTHENTICATED', 'Sign in first.');
  return operator;
});
