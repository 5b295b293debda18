import { FieldValue, Timestamp, type DocumentReference, type Firestore } from '@google-cloud/firestore';
import { toTimestamp } from '@saldo/grpc-kit';
import type { WalletSnapshot, WalletTransactionView } from './wallet-snapshot';

export const WALLETS_COLLECTION = 'wallets';
/**
 * Written once Firestore holds (or is being given) every wallet. Its absence means a fresh or
 * emptied Firestore (a new emulator, a restored or new project): the mirror re-mirrors everything.
 * Clients cannot read it (firestore.rules close everything but wallets).
 */
export const MIRROR_MARKER_PATH = 'saldo_mirror/marker';

export type MirrorWriteResult =
  /** The document now holds the snapshot's version. */
  | { outcome: 'written'; storedVersion: number | undefined }
  /** The document holds a newer state (or the same, unless repairing): nothing was written. */
  | { outcome: 'stale'; storedVersion: number; storedShadowRevision: number }
  /** Firestore refused or failed the write (retried later by the caller). */
  | { outcome: 'failed'; error: Error };

export interface MirrorWriteOptions {
  /** Rewrite a document that already holds this exact version (the rebuild repairs with it). Never an older one. */
  rewriteSameVersion?: boolean;
}

/** Rounds of read-compare-write for a document another writer changed between our read and write. */
const CONFLICT_ROUNDS_MAX = 5;
/** Documents per read (Firestore's BatchGetDocuments takes many; a limit on everything). */
const READ_CHUNK = 300;
/** Another writer changed the document between our read and our write: NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION. */
const CONFLICT_CODES = new Set([5, 6, 9]);
const GRPC_ALREADY_EXISTS = 6;

interface Stored {
  exists: boolean;
  version: number | undefined;
  shadowRevision: number;
  updateTime: Timestamp | undefined;
}

/**
 * Writes wallets/{walletId} documents in batches: one read of every document's (version,
 * shadowRevision), then one BulkWriter pass (up to 20 writes per request) of those that are
 * behind. The version guard holds without a transaction per document: each write carries a
 * precondition — "still unchanged since our read" (lastUpdateTime) or "still absent" (create) — so a
 * slow or replayed write can never roll a balance or a confirmation back; a document another
 * writer changed meanwhile is read and compared again. The wallet's recent activity lives inside
 * the document (`recentTransactions`, newest first, bounded), so a change is one document write
 * however many transactions it brings. Amounts are exact decimal strings.
 */
export class FirestoreMirror {
  constructor(
    private readonly firestore: Firestore,
    /** Transactions kept in each wallet document's `recentTransactions` (≤ 100: a document holds ≤ 1 MiB). */
    readonly transactionsKept: number,
  ) {
    if (transactionsKept < 1 || transactionsKept > 100) throw new Error('transactionsKept must be 1..100');
  }

  walletRef(walletId: string): DocumentReference {
    return this.firestore.collection(WALLETS_COLLECTION).doc(walletId);
  }

  /** Whether the marker document is there (a read error propagates: absence must be certain). */
  async markerExists(): Promise<boolean> {
    return (await this.firestore.doc(MIRROR_MARKER_PATH).get()).exists;
  }

  /** Creates the marker; another instance creating it first is fine. */
  async createMarker(fields: Record<string, unknown>): Promise<void> {
    try {
      await this.firestore
        .doc(MIRROR_MARKER_PATH)
        .create({ ...fields, createdAt: FieldValue.serverTimestamp() });
    } catch (error) {
      if ((error as { code?: number }).code !== GRPC_ALREADY_EXISTS) throw error;
    }
  }

  async write(snapshot: WalletSnapshot, options: MirrorWriteOptions = {}): Promise<MirrorWriteResult> {
    const [result] = await this.writeMany([snapshot], options);
    if (result!.outcome === 'failed') throw result!.error;
    return result!;
  }

  /** Writes each snapshot unless Firestore holds it or something newer; results in input order. */
  async writeMany(
    snapshots: readonly WalletSnapshot[],
    options: MirrorWriteOptions = {},
  ): Promise<MirrorWriteResult[]> {
    const results = new Array<MirrorWriteResult | undefined>(snapshots.length);
    const seen = new Set<string>();
    let pending: number[] = [];
    snapshots.forEach((snapshot, index) => {
      versionsOf(snapshot); // asserts
      if (!seen.has(snapshot.identity.walletId)) pending.push(index);
      else
        results[index] = {
          outcome: 'failed',
          error: new Error(`wallet ${snapshot.identity.walletId} appears twice in one batch`),
        };
      seen.add(snapshot.identity.walletId);
    });
    for (let round = 1; pending.length > 0; round += 1) {
      const stored = await this.readStored(pending.map((i) => snapshots[i]!));
      const conflicts: number[] = [];
      const writer = this.firestore.bulkWriter({ throttling: false });
      writer.onWriteError(() => false); // retried here (a conflict) or by the worker (anything else)
      const writes = pending.map(async (index, k) => {
        const snapshot = snapshots[index]!;
        const found = stored[k]!;
        const stale = staleness(snapshot, found, options);
        if (stale) {
          results[index] = stale;
          return;
        }
        const ref = this.walletRef(snapshot.identity.walletId);
        const document = walletDocument(snapshot);
        try {
          if (found.exists) await writer.update(ref, document, { lastUpdateTime: found.updateTime! });
          else await writer.create(ref, document);
          results[index] = { outcome: 'written', storedVersion: found.version };
        } catch (error) {
          const code = (error as { code?: number }).code;
          if (CONFLICT_CODES.has(code ?? -1) && round < CONFLICT_ROUNDS_MAX) conflicts.push(index);
          else results[index] = { outcome: 'failed', error: asError(error) };
        }
      });
      await writer.close();
      await Promise.all(writes);
      pending = conflicts;
    }
    return results.map((r) => r!);
  }

  private async readStored(snapshots: readonly WalletSnapshot[]): Promise<Stored[]> {
    const stored: Stored[] = [];
    for (let from = 0; from < snapshots.length; from += READ_CHUNK) {
      const refs = snapshots.slice(from, from + READ_CHUNK).map((s) => this.walletRef(s.identity.walletId));
      const docs = await this.firestore.getAll(...refs, { fieldMask: ['version', 'shadowRevision'] });
      for (const doc of docs) {
        const version = doc.exists ? (doc.get('version') as unknown) : undefined;
        const revision = doc.exists ? (doc.get('shadowRevision') as unknown) : undefined;
        stored.push({
          exists: doc.exists,
          version: typeof version === 'number' ? version : undefined,
          shadowRevision: typeof revision === 'number' ? revision : 0,
          updateTime: doc.updateTime,
        });
      }
    }
    return stored;
  }
}

function versionsOf(snapshot: WalletSnapshot): { version: number; shadowRevision: number } {
  const version = Number(snapshot.version);
  const shadowRevision = Number(snapshot.shadowRevision);
  if (!Number.isSafeInteger(version) || !Number.isSafeInteger(shadowRevision))
    throw new Error(`wallet ${snapshot.accountId}: version ${snapshot.version} is not a safe integer`);
  return { version, shadowRevision };
}

/** The stale outcome when Firestore is newer than the snapshot — by (version, shadowRevision) — or equal. */
function staleness(
  snapshot: WalletSnapshot,
  stored: Stored,
  options: MirrorWriteOptions,
): MirrorWriteResult | undefined {
  if (stored.version === undefined) return undefined;
  const { version, shadowRevision } = versionsOf(snapshot);
  const order = stored.version - version || stored.shadowRevision - shadowRevision; // > 0: Firestore is newer
  if (order > 0 || (order === 0 && !options.rewriteSameVersion))
    return { outcome: 'stale', storedVersion: stored.version, storedShadowRevision: stored.shadowRevision };
  return undefined;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

export function walletDocument(snapshot: WalletSnapshot): Record<string, unknown> {
  return {
    walletId: snapshot.identity.walletId,
    accountId: snapshot.accountId,
    tenantId: snapshot.tenantId,
    ownerType: snapshot.identity.ownerType,
    ownerId: snapshot.identity.ownerId,
    parentOwnerId: snapshot.identity.parentOwnerId,
    currency: snapshot.currency,
    assetScale: snapshot.assetScale,
    postedBalance: snapshot.postedBalance.toString(),
    pendingDebits: snapshot.pendingDebits.toString(),
    availableBalance: snapshot.availableBalance.toString(),
    // postedBalance = confirmedBalance + shadowBalance; shadow is ERP-document money not yet confirmed.
    confirmedBalance: snapshot.confirmedBalance.toString(),
    shadowBalance: snapshot.shadowBalance.toString(),
    overdraftLimit: snapshot.overdraftLimit,
    version: Number(snapshot.version),
    shadowRevision: Number(snapshot.shadowRevision),
    updatedAt: firestoreTime(snapshot.updatedAt),
    mirroredAt: FieldValue.serverTimestamp(),
    // Newest first, at most transactionsKept: what an app lists as the wallet's activity.
    recentTransactions: snapshot.transactions.map((view) => transactionEntry(view)),
  };
}

/** One entry of a wallet document's `recentTransactions` (its status is current as of the write). */
export function transactionEntry(view: WalletTransactionView): Record<string, unknown> {
  return {
    transactionId: view.transactionId,
    walletVersion: Number(view.walletVersion),
    kind: view.kind,
    status: view.status,
    action: view.action,
    postedDelta: view.postedDelta.toString(),
    availableDelta: view.availableDelta.toString(),
    postedBalanceAfter: view.postedBalanceAfter.toString(),
    availableBalanceAfter: view.availableBalanceAfter.toString(),
    pendingDebitsAfter: view.pendingDebitsAfter.toString(),
    references: view.references,
    pendingTransactionId: view.pendingTransactionId ?? '',
    reversesTransactionId: view.reversesTransactionId ?? '',
    // '' for ordinary money; 'shadow', 'confirmed' or 'reversed' for an ERP-document top-up.
    shadowState: view.shadowState ?? '',
    createdAt: firestoreTime(view.createdAt),
  };
}

function firestoreTime(iso: string): Timestamp {
  const ts = toTimestamp(iso);
  if (!ts) throw new Error(`"${iso}" is not a timestamp`);
  return new Timestamp(Number(ts.seconds), ts.nanos);
}
