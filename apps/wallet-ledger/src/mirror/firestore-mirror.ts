import { FieldValue, Timestamp, type DocumentReference, type Firestore } from '@google-cloud/firestore';
import { toTimestamp } from '@saldo/grpc-kit';
import type { WalletSnapshot, WalletTransactionView } from './wallet-snapshot';

export const WALLETS_COLLECTION = 'wallets';
export const TRANSACTIONS_SUBCOLLECTION = 'transactions';

export type MirrorWriteResult =
  /** The document now holds the snapshot's version. */
  | { outcome: 'written'; storedVersion: number | undefined }
  /** The document holds a newer state (or the same, unless repairing): nothing was written. */
  | { outcome: 'stale'; storedVersion: number; storedShadowRevision: number };

export interface MirrorWriteOptions {
  /** Rewrite a document that already holds this exact version (the rebuild repairs with it). Never an older one. */
  rewriteSameVersion?: boolean;
}

/**
 * Writes wallets/{walletId} and its newest transactions in one Firestore transaction that reads
 * the stored state first: a snapshot older than what is stored — by (version, shadowRevision) —
 * is refused, so a slow or replayed write can never roll a balance or a confirmation back.
 * Amounts are exact decimal strings.
 */
export class FirestoreMirror {
  constructor(
    private readonly firestore: Firestore,
    /** How many transactions each wallet keeps in its subcollection (≤ 200: one Firestore transaction holds ≤ 500 writes). */
    readonly transactionsKept: number,
  ) {
    if (transactionsKept < 1 || transactionsKept > 200) throw new Error('transactionsKept must be 1..200');
  }

  walletRef(walletId: string): DocumentReference {
    return this.firestore.collection(WALLETS_COLLECTION).doc(walletId);
  }

  async write(snapshot: WalletSnapshot, options: MirrorWriteOptions = {}): Promise<MirrorWriteResult> {
    const version = Number(snapshot.version);
    const shadowRevision = Number(snapshot.shadowRevision);
    if (!Number.isSafeInteger(version) || !Number.isSafeInteger(shadowRevision))
      throw new Error(`wallet ${snapshot.accountId}: version ${snapshot.version} is not a safe integer`);
    const walletRef = this.walletRef(snapshot.identity.walletId);
    const transactions = walletRef.collection(TRANSACTIONS_SUBCOLLECTION);
    const result = await this.firestore.runTransaction(
      async (tx): Promise<MirrorWriteResult> => {
        const stored = await tx.get(walletRef);
        const storedVersion = stored.exists ? (stored.get('version') as unknown) : undefined;
        const storedRevisionField = stored.exists ? (stored.get('shadowRevision') as unknown) : undefined;
        const storedShadowRevision = typeof storedRevisionField === 'number' ? storedRevisionField : 0;
        if (typeof storedVersion === 'number') {
          const order = storedVersion - version || storedShadowRevision - shadowRevision; // > 0: Firestore is newer
          if (order > 0 || (order === 0 && !options.rewriteSameVersion)) {
            return { outcome: 'stale', storedVersion, storedShadowRevision };
          }
        }
        const known = typeof storedVersion === 'number' && !options.rewriteSameVersion ? storedVersion : -1;
        // A confirmation changes no version but a transaction's shadow state: rewrite those too.
        const confirmed = storedShadowRevision !== shadowRevision;
        tx.set(walletRef, walletDocument(snapshot));
        for (const view of transactionsToWrite(snapshot.transactions, known, confirmed)) {
          tx.set(transactions.doc(view.transactionId), transactionDocument(snapshot, view));
        }
        return {
          outcome: 'written',
          storedVersion: typeof storedVersion === 'number' ? storedVersion : undefined,
        };
      },
      { maxAttempts: 5 },
    );
    if (result.outcome === 'written') await this.trim(walletRef, version);
    return result;
  }

  /**
   * Deletes the transactions that fell out of the window. Outside the guarded transaction on
   * purpose (a query inside a Firestore transaction locks the whole range): it only removes
   * documents older than this version's window, which every newer version's window excludes too,
   * so it is safe whoever runs it and whenever; a crash before it leaves extra documents that the
   * next write removes.
   */
  private async trim(walletRef: DocumentReference, version: number): Promise<void> {
    const oldestKept = version - this.transactionsKept + 1;
    for (let round = 0; round < 10; round += 1) {
      const expired = await walletRef
        .collection(TRANSACTIONS_SUBCOLLECTION)
        .where('walletVersion', '<', oldestKept)
        .select()
        .limit(400)
        .get();
      if (expired.empty) return;
      const batch = this.firestore.batch();
      for (const doc of expired.docs) batch.delete(doc.ref);
      await batch.commit();
      if (expired.size < 400) return;
    }
  }
}

/**
 * Transactions newer than what Firestore has, plus those they resolve or reverse (within the
 * window): their status changed (a hold captured or voided, a posting reversed).
 */
export function transactionsToWrite(
  views: readonly WalletTransactionView[],
  storedVersion: number,
  shadowSettled = false,
): WalletTransactionView[] {
  const fresh = views.filter((view) => view.walletVersion > BigInt(storedVersion));
  const touched = new Set(
    fresh.flatMap((view) => [view.pendingTransactionId, view.reversesTransactionId]).filter(Boolean),
  );
  return views.filter(
    (view) =>
      view.walletVersion > BigInt(storedVersion) ||
      touched.has(view.transactionId) ||
      (shadowSettled && view.shadowState !== null),
  );
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
  };
}

export function transactionDocument(
  snapshot: WalletSnapshot,
  view: WalletTransactionView,
): Record<string, unknown> {
  return {
    transactionId: view.transactionId,
    walletId: snapshot.identity.walletId,
    tenantId: snapshot.tenantId,
    walletVersion: Number(view.walletVersion),
    kind: view.kind,
    status: view.status,
    action: view.action,
    currency: snapshot.currency,
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
