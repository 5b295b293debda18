export { createDataSource } from './data-source';
export type { DataSourceOptions } from './data-source';
export { runMigrationsUnderLock } from './migrations';
export { classifyPgError } from './pg-errors';
export type { PgErrorClass } from './pg-errors';
export { PgListener } from './pg-listener';
export type { PgListenerOptions } from './pg-listener';
