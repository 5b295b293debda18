import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import type { Response } from 'express';

/** Why a Console request did not do what was asked; one HTTP status per code (ConsoleErrorFilter). */
export type ConsoleErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'CSRF_REJECTED'
  | 'INVALID_REQUEST'
  | 'NOT_FOUND'
  | 'REFUSED'
  | 'CONFLICT'
  | 'TOO_MANY_ATTEMPTS'
  | 'TENANT_NOT_CONFIGURED'
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_FAILED';

export class ConsoleError extends Error {
  constructor(
    readonly code: ConsoleErrorCode,
    message: string,
    /** The service's own reason (e.g. INSUFFICIENT_FUNDS), when a service refused. */
    readonly reason?: string,
  ) {
    super(message);
  }
}

export function httpStatusOf(code: ConsoleErrorCode): number {
  switch (code) {
    case 'UNAUTHENTICATED':
      return 401;
    case 'FORBIDDEN':
    case 'CSRF_REJECTED':
      return 403;
    case 'INVALID_REQUEST':
      return 400;
    case 'NOT_FOUND':
      return 404;
    case 'REFUSED':
    case 'CONFLICT':
      return 409;
    case 'TOO_MANY_ATTEMPTS':
      return 429;
    case 'TENANT_NOT_CONFIGURED':
      return 501;
    case 'UPSTREAM_UNAVAILABLE':
      return 503;
    case 'UPSTREAM_FAILED':
      return 502;
  }
}

/** The one mapper of errors to HTTP answers: `{ error: { code, message, reason? } }`. */
@Catch()
export class ConsoleErrorFilter implements ExceptionFilter {
  constructor(private readonly onUnexpected: (error: unknown) => void) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    if (error instanceof ConsoleError) {
      response.status(httpStatusOf(error.code)).json({
        error: {
          code: error.code,
          message: error.message,
          ...(error.reason ? { reason: error.reason } : {}),
        },
      });
      return;
    }
    if (error instanceof HttpException) {
      const status = error.getStatus();
      response.status(status).json({
        error: { code: status === 404 ? 'NOT_FOUND' : 'INVALID_REQUEST', message: error.message },
      });
      return;
    }
    this.onUnexpected(error);
    response.status(500).json({ error: { code: 'INTERNAL', message: 'The Console failed; see its log.' } });
  }
}
