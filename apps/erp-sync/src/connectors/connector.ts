import type { ConnectorName } from '../store/sync-store';

/**
 * The contract every vendor connector keeps (NetSuite, Zendesk, ActiveCampaign; a fourth joins by
 * implementing it and registering in sync/connectors-registry). The sync worker owns the state
 * machine, retries and dead letters; a connector only speaks its vendor's wire format and says,
 * per record, what happened.
 */
export interface Connector<TPayload> {
  readonly name: ConnectorName;
  /** Checks credentials (and fetches a token where the vendor needs one). Throws a clear error. */
  authenticate(): Promise<void>;
  /** What this connector writes, for operators and the docs. */
  describeSchema(): ConnectorSchema;
  /** Records changed in the vendor since `cursor` (null: from the beginning), oldest first. */
  readChanges(cursor: string | null, limit: number): Promise<ChangePage>;
  /** Writes records; one result per record, in order. Never throws for a per-record failure. */
  writeBatch(records: ReadonlyArray<OutboundRecord<TPayload>>): Promise<WriteResult[]>;
}

export interface ConnectorSchema {
  connector: ConnectorName;
  recordType: string;
  key: string;
  fields: ReadonlyArray<{ name: string; type: string; required: boolean; description: string }>;
}

export interface OutboundRecord<TPayload> {
  syncRecordId: string;
  key: string;
  payload: TPayload;
}

export type WriteResult =
  | { status: 'ok'; externalId: string }
  /** Try again later: `throttled` for a 429 (does not count as an attempt). */
  | { status: 'retry'; error: string; retryAfterMs?: number; throttled: boolean }
  /** The vendor refused the record itself: retrying cannot help, it goes to the dead letters. */
  | { status: 'reject'; error: string };

export interface ChangedRecord {
  externalId: string;
  key: string | null;
  changedAt: string;
  fields: Record<string, unknown>;
}

export interface ChangePage {
  records: ChangedRecord[];
  /** Pass back to continue; equal to the input when nothing changed. */
  cursor: string | null;
}
