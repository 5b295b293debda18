import { Pool, type PoolClient } from 'pg';
import { SIMULATOR_SCHEMA } from './simulator-schema';

/**
 * The legacy simulator: seeds wallets of the three models and then keeps taking top-ups, usage and
 * transfers (and opens a wallet now and then), each as one transaction that writes the change log,
 * until stopped. Every write transaction first reads the write-freeze flag FOR SHARE, so setting the
 * flag (which takes the row lock) waits for writes in flight and stops every later one.
 * One writer connection: change ids become visible in id order, which the PostgreSQL source needs.
 */
export class LegacySimulator {
  private readonly pool: Pool;

  constructor(url: string) {
    this.pool = new Pool({ connectionString: url, max: 2, application_name: 'saldo-legacy-simulator' });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  async install(): Promise<void> {
    for (const statement of SIMULATOR_SCHEMA) await this.pool.query(statement);
  }

  /**
   * `count` wallets in blocks of ten: 5 personal, an enterprise with 2 members, a reseller with 1
   * client; currencies alternate USD / IDR per block. `unmappable` more wallets the mapping cannot
   * take (an unknown model, a balance finer than a cent), so a plan has something to report.
   * Balances are derived from the id (the same seed gives the same figures).
   */
  async seed(count: number, unmappable = 0): Promise<void> {
    await this.install();
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const start = Number(
        (await client.query<{ n: string }>('SELECT coalesce(max(wid), 0)::text AS n FROM legacy.wallet'))
          .rows[0]?.n,
      );
      await client.query(
        `INSERT INTO legacy.wallet (wid, cust_ref, kind, parent_wid, ccy, bal_e4, overdraft_e4)
         SELECT i,
                'cust-' || i,
                (ARRAY['P','P','P','P','P','E','M','M','R','C'])[(i - 1) % 10 + 1],
                CASE WHEN (i - 1) % 10 IN (6, 7) THEN i - ((i - 1) % 10 - 5)
                     WHEN (i - 1) % 10 = 9 THEN i - 1 END,
                CASE WHEN ((i - 1) / 10) % 2 = 0 THEN 'USD' ELSE 'IDR' END,
                CASE WHEN (i - 1) % 10 IN (6, 7) THEN 0
                     ELSE (abs(hashint8(i)) % 100000)::bigint * (CASE WHEN ((i - 1) / 10) % 2 = 0 THEN 100 ELSE 10000 END) END,
                0
           FROM generate_series($1::bigint + 1, $1::bigint + $2::bigint) AS i`,
        [start, count],
      );
      if (unmappable > 0)
        await client.query(
          `INSERT INTO legacy.wallet (wid, cust_ref, kind, ccy, bal_e4)
           SELECT i, 'odd-' || i, CASE WHEN i % 2 = 0 THEN 'Z' ELSE 'P' END, 'USD', 12345
             FROM generate_series($1::bigint + 1, $1::bigint + $2::bigint) AS i`,
          [start + count, unmappable],
        );
      await client.query(
        `INSERT INTO legacy.wallet_log (change_id, wid, op, amount_e4, bal_after_e4)
         SELECT nextval('legacy.change_seq'), wid, 'OPEN', bal_e4, bal_e4
           FROM legacy.wallet WHERE wid > $1 ORDER BY wid`,
        [start],
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  }

  async setFreeze(frozen: boolean): Promise<void> {
    await this.pool.query('UPDATE legacy.control SET write_freeze = $1 WHERE id = 1', [frozen]);
  }

  /**
   * Takes writes at about `ratePerSecond` until `signal` aborts (or `maxOps`). Returns what it did.
   * A frozen system refuses writes (counted as `refused`), like the real one would answer its users.
   */
  async run(options: {
    ratePerSecond: number;
    signal?: AbortSignal;
    maxOps?: number;
    seed?: number;
  }): Promise<SimulatorStats> {
    const stats: SimulatorStats = { writes: 0, refused: 0, skipped: 0 };
    const client = await this.pool.connect();
    let random = options.seed ?? 1;
    const next = () => {
      random = (Math.imul(random, 1103515245) + 12345) & 0x7fffffff;
      return random;
    };
    const interval = 1000 / Math.max(0.1, options.ratePerSecond);
    let due = Date.now();
    try {
      const max = Number(
        (await client.query<{ n: string }>('SELECT max(wid)::text AS n FROM legacy.wallet')).rows[0]?.n ?? 0,
      );
      while (
        !options.signal?.aborted &&
        (options.maxOps === undefined || stats.writes + stats.refused + stats.skipped < options.maxOps)
      ) {
        due += interval;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        else if (wait < -1000) due = Date.now(); // fell behind: do not burst to catch up
        const outcome = await this.oneWrite(client, next, max);
        stats[outcome]++;
      }
    } finally {
      client.release();
    }
    return stats;
  }

  private async oneWrite(
    client: PoolClient,
    next: () => number,
    maxWid: number,
  ): Promise<'writes' | 'refused' | 'skipped'> {
    await client.query('BEGIN');
    try {
      const frozen = (
        await client.query<{ write_freeze: boolean }>(
          'SELECT write_freeze FROM legacy.control WHERE id = 1 FOR SHARE',
        )
      ).rows[0]?.write_freeze;
      if (frozen) {
        await client.query('ROLLBACK');
        return 'refused';
      }
      const pick = next() % 100;
      const wid = (next() % Math.max(1, maxWid)) + 1;
      const wallet = (
        await client.query<{
          wid: string;
          kind: string;
          parent_wid: string | null;
          ccy: string;
          cust_ref: string;
        }>('SELECT wid::text, kind, parent_wid::text, ccy, cust_ref FROM legacy.wallet WHERE wid = $1', [wid])
      ).rows[0];
      if (!wallet || wallet.cust_ref.startsWith('odd-')) {
        await client.query('ROLLBACK');
        return 'skipped';
      }
      const unit = wallet.ccy === 'USD' ? 100 : 10000;
      const amount = ((next() % 500) + 1) * unit;
      let done = false;
      if (pick < 5) done = await this.open(client, wallet.ccy, amount);
      else if (pick < 45)
        done = wallet.kind === 'M' ? false : await this.change(client, wallet.wid, 'TOPUP', amount, null);
      else if (pick < 85) {
        // A member's usage spends its organisation's balance (the change is the organisation's).
        const payer = wallet.kind === 'M' ? (wallet.parent_wid as string) : wallet.wid;
        done = await this.change(client, payer, 'USAGE', -amount, wallet.kind === 'M' ? wallet.wid : null);
      } else done = await this.transfer(client, wallet, amount);
      await client.query(done ? 'COMMIT' : 'ROLLBACK');
      return done ? 'writes' : 'skipped';
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
  }

  /** One balance change and its log row; false when it would take the wallet below its overdraft. */
  private async change(
    client: PoolClient,
    wid: string,
    op: string,
    amount: number,
    counter: string | null,
  ): Promise<boolean> {
    const updated = await client.query<{ bal: string }>(
      `UPDATE legacy.wallet SET bal_e4 = bal_e4 + $2 WHERE wid = $1 AND bal_e4 + $2 >= -overdraft_e4
       RETURNING bal_e4::text AS bal`,
      [wid, amount],
    );
    const bal = updated.rows[0]?.bal;
    if (bal === undefined) return false;
    await client.query(
      `INSERT INTO legacy.wallet_log (change_id, wid, op, amount_e4, bal_after_e4, counter_wid)
       VALUES (nextval('legacy.change_seq'), $1, $2, $3, $4, $5)`,
      [wid, op, amount, bal, counter],
    );
    return true;
  }

  /** Reseller → its client, a client back to its reseller, or personal → personal. */
  private async transfer(
    client: PoolClient,
    wallet: { wid: string; kind: string; parent_wid: string | null; ccy: string },
    amount: number,
  ): Promise<boolean> {
    let to: string | undefined;
    if (wallet.kind === 'C') to = wallet.parent_wid ?? undefined;
    else if (wallet.kind === 'R') to = String(Number(wallet.wid) + 1);
    else if (wallet.kind === 'P') {
      const peer = (
        await client.query<{ wid: string }>(
          `SELECT wid::text FROM legacy.wallet WHERE kind = 'P' AND ccy = $1 AND wid > $2 AND cust_ref NOT LIKE 'odd-%' ORDER BY wid LIMIT 1`,
          [wallet.ccy, wallet.wid],
        )
      ).rows[0];
      to = peer?.wid;
    }
    if (!to) return false;
    if (!(await this.change(client, wallet.wid, 'XFER_OUT', -amount, to))) return false;
    return this.change(client, to, 'XFER_IN', amount, wallet.wid);
  }

  /** A new personal wallet with an opening top-up, opened while the migration runs. */
  private async open(client: PoolClient, ccy: string, amount: number): Promise<boolean> {
    const wid = (
      await client.query<{ wid: string }>(
        `INSERT INTO legacy.wallet (wid, cust_ref, kind, ccy, bal_e4)
       SELECT max(wid) + 1, 'late-' || (max(wid) + 1), 'P', $1, $2 FROM legacy.wallet
       RETURNING wid::text`,
        [ccy, amount],
      )
    ).rows[0]?.wid as string;
    await client.query(
      `INSERT INTO legacy.wallet_log (change_id, wid, op, amount_e4, bal_after_e4)
       VALUES (nextval('legacy.change_seq'), $1, 'OPEN', $2, $2)`,
      [wid, amount],
    );
    return true;
  }

  /** Totals per currency and the newest change, for checks. */
  async totals(): Promise<{ wallets: number; cursor: bigint; balances: Record<string, bigint> }> {
    const rows = (
      await this.pool.query<{ ccy: string; n: string; total: string }>(
        `SELECT ccy, count(*)::text AS n, sum(bal_e4)::text AS total FROM legacy.wallet GROUP BY ccy`,
      )
    ).rows;
    const cursor = (
      await this.pool.query<{ c: string | null }>('SELECT max(change_id)::text AS c FROM legacy.wallet_log')
    ).rows[0]?.c;
    return {
      wallets: rows.reduce((n, r) => n + Number(r.n), 0),
      cursor: BigInt(cursor ?? '0'),
      balances: Object.fromEntries(rows.map((r) => [r.ccy, BigInt(r.total)])),
    };
  }
}

export interface SimulatorStats {
  writes: number;
  refused: number;
  skipped: number;
}
