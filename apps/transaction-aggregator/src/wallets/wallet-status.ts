// What a wallet's lifecycle status allows (issue 12): frozen refuses debits and still receives
// credits; closed refuses every write. Checked on the rows the use case just read from the
// database (a status is never cached: it changes).
import { LedgerError } from '@saldo/ledger-domain';
import type { WalletRow } from './aggregator.repository';

/** Debits: usage, holds, captures, outgoing transfers. A member's organisation counts too. */
export function requireDebitable(field: string, ...wallets: ReadonlyArray<WalletRow | undefined>): void {
  for (const wallet of wallets) {
    if (!wallet) continue;
    refuseClosed(field, wallet);
    if (wallet.status === 'frozen')
      throw new LedgerError(
        'WALLET_FROZEN',
        `${field}: wallet ${wallet.id} is frozen: it accepts no debits`,
        {
          field,
          facts: { wallet_id: wallet.id, status: 'frozen' },
        },
      );
  }
}

/** Credits and corrections: anything but a closed wallet. */
export function requireWritable(field: string, ...wallets: ReadonlyArray<WalletRow | undefined>): void {
  for (const wallet of wallets) if (wallet) refuseClosed(field, wallet);
}

function refuseClosed(field: string, wallet: WalletRow): void {
  if (wallet.status === 'closed')
    throw new LedgerError('WALLET_CLOSED', `${field}: wallet ${wallet.id} is closed`, {
      field,
      facts: { wallet_id: wallet.id, status: 'closed' },
    });
}
