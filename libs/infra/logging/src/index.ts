export { createLogger, logContext, PinoNestLogger, REDACTED_PATHS } from './logger';
export type { Logger } from './logger';
