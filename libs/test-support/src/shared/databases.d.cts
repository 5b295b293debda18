// Types for databases.cjs (consumed by @saldo/test-support).
import type { Client, ClientConfig } from 'pg';

export const NAME_PREFIX: string;
export const NAME_MAX_CHARS: number;
export function adminConfigFromUrl(url: string): ClientConfig;
export function withDatabase(url: string, name: string): string;
export function redactUrl(url: string): string;
export function withClient<T>(config: ClientConfig, fn: (client: Client) => Promise<T>): Promise<T>;
export function createDatabase(client: Client, name: string, options?: { template?: string }): Promise<void>;
export function dropDatabase(client: Client, name: string): Promise<boolean>;
