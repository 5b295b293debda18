import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { LegacyChange, LegacySource, LegacyWalletRecord, WalletBalanceAt } from './legacy-source';

/** Upper bound of rows read from one export file (the whole file is held in memory). */
const MAX_ROWS = 5_000_000;

const WALLET_COLUMNS = ['id', 'owner', 'currency', 'model', 'parent', 'overdraft'] as const;
const CHANGE_COLUMNS = ['id', 'wallet', 'kind', 'amount', 'balance_after', 'at', 'counterparty'] as const;

/**
 * A legacy system's CSV export: a directory with `wallets.csv` (id, owner, currency, model, parent,
 * overdraft) and `changes.csv` (id, wallet, kind, amount, balance_after, at, counterparty), both with
 * a header row, RFC 4180 quoting. Amounts are legacy units as the mapping's amountScale says. An
 * export is a fixed point in time: the cursor never moves past its last change, and it cannot be
 * frozen (the export itself is the freeze).
 */
export class CsvSource implements LegacySource {
  readonly description: string;
  private wallets: LegacyWalletRecord[] = [];
  private position = new Map<string, number>();
  private changes: LegacyChange[] = [];
  private changesByWallet = new Map<string, LegacyChange[]>();

  constructor(private readonly dir: string) {
    this.description = `csv ${dir}`;
  }

  async connect(): Promise<void> {
    const wallets = await readCsv(path.join(this.dir, 'wallets.csv'), WALLET_COLUMNS);
    this.wallets = wallets.map((r) => ({
      id: r.id,
      owner: r.owner,
      currency: r.currency.trim(),
      model: r.model.trim(),
      parentId: r.parent || null,
      overdraft: r.overdraft || '0',
    }));
    this.position = new Map(this.wallets.map((w, i) => [w.id, i]));
    if (this.position.size !== this.wallets.length) throw new Error('wallets.csv: duplicate wallet ids');
    const changes = await readCsv(path.join(this.dir, 'changes.csv'), CHANGE_COLUMNS);
    this.changes = changes
      .map((r, i) => {
        if (!/^\d+$/.test(r.id))
          throw new Error(`changes.csv row ${i + 2}: id "${r.id}" is not a whole number`);
        const at = new Date(r.at);
        if (Number.isNaN(at.getTime()))
          throw new Error(`changes.csv row ${i + 2}: at "${r.at}" is not a time`);
        return {
          id: BigInt(r.id),
          walletId: r.wallet,
          kind: r.kind,
          amount: r.amount,
          balanceAfter: r.balance_after,
          at,
          counterpartyId: r.counterparty || null,
        };
      })
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.changesByWallet = new Map();
    for (const change of this.changes) {
      const list = this.changesByWallet.get(change.walletId) ?? [];
      list.push(change);
      this.changesByWallet.set(change.walletId, list);
    }
  }

  async close(): Promise<void> {
    this.changes = [];
  }

  async currentCursor(): Promise<bigint> {
    return this.changes.at(-1)?.id ?? 0n;
  }

  async countWallets(): Promise<number> {
    return this.wallets.length;
  }

  async readWallets(ids: readonly string[]): Promise<LegacyWalletRecord[]> {
    return ids.flatMap((id) => {
      const i = this.position.get(id);
      return i === undefined ? [] : [this.wallets[i] as LegacyWalletRecord];
    });
  }

  async listWallets(after: string | null, limit: number): Promise<LegacyWalletRecord[]> {
    const start = after === null ? 0 : (this.position.get(after) ?? this.wallets.length) + 1;
    return this.wallets.slice(start, start + limit);
  }

  async readChanges(after: bigint, limit: number): Promise<LegacyChange[]> {
    let lo = 0;
    let hi = this.changes.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.changes[mid] as LegacyChange).id <= after) lo = mid + 1;
      else hi = mid;
    }
    return this.changes.slice(lo, lo + limit);
  }

  async balancesAt(walletIds: readonly string[], at: bigint): Promise<Map<string, WalletBalanceAt>> {
    const result = new Map<string, WalletBalanceAt>();
    for (const id of walletIds) {
      const list = this.changesByWallet.get(id) ?? [];
      let last: LegacyChange | undefined;
      for (const change of list) if (change.id <= at) last = change;
      result.set(
        id,
        last ? { exists: true, balance: last.balanceAfter } : { exists: list.length === 0, balance: '0' },
      );
    }
    return result;
  }
}

async function readCsv<C extends string>(
  file: string,
  columns: readonly C[],
): Promise<Array<Record<C, string>>> {
  const rows = parseCsv(await readFile(file, 'utf8'));
  const header = rows.shift();
  if (!header) throw new Error(`${file}: empty (a header row is needed: ${columns.join(',')})`);
  const index = columns.map((column) => header.indexOf(column));
  const missing = columns.filter(
    (_c, i) => index[i] === -1 && !['parent', 'overdraft', 'counterparty'].includes(_c),
  );
  if (missing.length) throw new Error(`${file}: missing column(s) ${missing.join(', ')}`);
  if (rows.length > MAX_ROWS)
    throw new Error(`${file}: more than ${MAX_ROWS} rows; use the PostgreSQL source`);
  return rows
    .filter((r) => r.length > 1 || (r[0] ?? '') !== '')
    .map(
      (r) => Object.fromEntries(columns.map((c, i) => [c, r[index[i] as number] ?? ''])) as Record<C, string>,
    );
}

/** RFC 4180: comma-separated, double quotes around fields with commas, quotes or line breaks. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
