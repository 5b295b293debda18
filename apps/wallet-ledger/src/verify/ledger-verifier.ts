import type { DataSource } from 'typeorm';

export interface VerifyCheck {
  name: string;
  description: string;
  checked: number;
  violations: string[];
}

export interface VerifyReport {
  checks: VerifyCheck[];
  ok: boolean;
}

interface CheckDefinition {
  name: string;
  description: string;
  /** How many things the check looks at. */
  countSql: string;
  /** One row per violation, with a readable `problem` column. */
  violationSql: string;
}

const MAX_LISTED = 20;

/**
 * Recomputes every balance from the entries and checks every invariant of the ledger, on one
 * consistent snapshot (REPEATABLE READ, read only), so it can run against a live database.
 */
const CHECKS: CheckDefinition[] = [
  {
    name: 'transactions-balanced',
    description: 'every transaction has two or more entries and debits equal credits per asset and phase',
    countSql: `SELECT count(*) FROM ledger.transactions`,
    violationSql: `
      SELECT format('transaction %s: %s', t.id,
                    CASE WHEN n.entries < 2 THEN 'fewer than two entries' ELSE n.problem END) AS problem
        FROM ledger.transactions t
        CROSS JOIN LATERAL (
          SELECT (SELECT count(*) FROM ledger.entries WHERE transaction_id = t.id) AS entries,
                 (SELECT string_agg(format('%s/%s off by %s', asset_code, phase, net), ', ')
                    FROM (SELECT asset_code, phase, sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) AS net
                            FROM ledger.entries WHERE transaction_id = t.id GROUP BY asset_code, phase) g
                   WHERE net <> 0) AS problem) n
       WHERE n.entries < 2 OR n.problem IS NOT NULL`,
  },
  {
    name: 'balances-equal-entries',
    description: "every account's four totals equal the sums of its entries",
    countSql: `SELECT count(*) FROM ledger.accounts`,
    violationSql: `
      SELECT format('account %s: stored (%s,%s,%s,%s) but entries sum to (%s,%s,%s,%s)', a.id,
                    a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending, s.dp, s.cp, s.dq, s.cq) AS problem
        FROM ledger.accounts a
        CROSS JOIN LATERAL (
          SELECT coalesce(sum(amount) FILTER (WHERE side = 'debit' AND phase = 'posted'), 0) AS dp,
                 coalesce(sum(amount) FILTER (WHERE side = 'credit' AND phase = 'posted'), 0) AS cp,
                 coalesce(sum(amount) FILTER (WHERE side = 'debit' AND phase = 'pending'), 0)
                   - coalesce(sum(amount) FILTER (WHERE side = 'debit' AND phase = 'release'), 0) AS dq,
                 coalesce(sum(amount) FILTER (WHERE side = 'credit' AND phase = 'pending'), 0)
                   - coalesce(sum(amount) FILTER (WHERE side = 'credit' AND phase = 'release'), 0) AS cq
            FROM ledger.entries e WHERE e.account_id = a.id) s
       WHERE (a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending) <> (s.dp, s.cp, s.dq, s.cq)`,
  },
  {
    name: 'versions-count-transactions',
    description: "every account's version equals the number of transactions that changed it",
    countSql: `SELECT count(*) FROM ledger.accounts`,
    violationSql: `
      SELECT format('account %s: version %s but %s transactions touched it', a.id, a.version, n.count) AS problem
        FROM ledger.accounts a
        CROSS JOIN LATERAL (SELECT count(DISTINCT transaction_id) AS count FROM ledger.entries e WHERE e.account_id = a.id) n
       WHERE a.version <> n.count`,
  },
  {
    name: 'running-totals-chain',
    description: "every entry's running totals equal the sums of its account's entries up to it",
    countSql: `SELECT count(*) FROM ledger.entries`,
    violationSql: `
      SELECT format('entry %s (account %s): running totals do not add up', id, account_id) AS problem FROM (
        SELECT e.id, e.account_id, e.debits_posted, e.credits_posted, e.debits_pending, e.credits_pending,
               sum(CASE WHEN side = 'debit' AND phase = 'posted' THEN amount ELSE 0 END) OVER w AS dp,
               sum(CASE WHEN side = 'credit' AND phase = 'posted' THEN amount ELSE 0 END) OVER w AS cp,
               sum(CASE WHEN side = 'debit' AND phase = 'pending' THEN amount
                        WHEN side = 'debit' AND phase = 'release' THEN -amount ELSE 0 END) OVER w AS dq,
               sum(CASE WHEN side = 'credit' AND phase = 'pending' THEN amount
                        WHEN side = 'credit' AND phase = 'release' THEN -amount ELSE 0 END) OVER w AS cq
          FROM ledger.entries e
        WINDOW w AS (PARTITION BY account_id ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) x
       WHERE (debits_posted, credits_posted, debits_pending, credits_pending) <> (dp, cp, dq, cq)`,
  },
  {
    name: 'wallets-within-limits',
    description: 'no wallet is below minus its overdraft limit, no total is negative',
    countSql: `SELECT count(*) FROM ledger.accounts`,
    violationSql: `
      SELECT format('account %s: available %s, overdraft limit %s', id,
                    credits_posted - debits_posted - debits_pending, overdraft_limit) AS problem
        FROM ledger.accounts
       WHERE least(debits_posted, credits_posted, debits_pending, credits_pending) < 0
          OR (limit_enforced AND normal_side = 'credit'
              AND credits_posted - debits_posted - debits_pending < -overdraft_limit)`,
  },
  {
    name: 'conservation-per-asset',
    description: 'per tenant and asset, posted debits equal posted credits across all accounts',
    countSql: `SELECT count(*) FROM ledger.assets`,
    violationSql: `
      SELECT format('tenant %s asset %s: posted debits %s, credits %s', tenant_id, asset_code, sum(debits_posted),
                    sum(credits_posted)) AS problem
        FROM ledger.accounts GROUP BY tenant_id, asset_code
      HAVING sum(debits_posted) <> sum(credits_posted) OR sum(debits_pending) <> sum(credits_pending)`,
  },
  {
    name: 'holds-resolved-once',
    description: 'a pending hold is resolved by exactly one post or void that releases exactly what it held',
    countSql: `SELECT count(*) FROM ledger.transactions WHERE kind = 'pending'`,
    violationSql: `
      SELECT format('hold %s (%s): %s', h.id, h.status, problem) AS problem FROM ledger.transactions h
        CROSS JOIN LATERAL (
          SELECT CASE
            WHEN h.status = 'pending' AND count(r.id) > 0 THEN 'still pending but resolved'
            WHEN h.status <> 'pending' AND count(r.id) <> 1 THEN format('%s resolutions', count(r.id))
            WHEN h.status <> 'pending' AND (SELECT coalesce(sum(amount), 0) FROM ledger.entries
                   WHERE transaction_id = min(r.id::text)::uuid AND phase = 'release')
                 <> (SELECT sum(amount) FROM ledger.entries WHERE transaction_id = h.id) THEN 'release differs from hold'
            WHEN h.status <> 'pending' AND (SELECT coalesce(max(amount), 0) FROM ledger.entries
                   WHERE transaction_id = min(r.id::text)::uuid AND phase = 'posted')
                 > (SELECT max(amount) FROM ledger.entries WHERE transaction_id = h.id) THEN 'posted more than held'
          END AS problem
          FROM ledger.transactions r WHERE r.pending_id = h.id) c
       WHERE h.kind = 'pending' AND c.problem IS NOT NULL`,
  },
  {
    name: 'reversals-mirror-originals',
    description: 'a reversed transaction has one reversal whose entries mirror its posted entries',
    countSql: `SELECT count(*) FROM ledger.transactions WHERE kind = 'reversal'`,
    violationSql: `
      SELECT format('reversal %s of %s does not mirror it', r.id, r.reverses_id) AS problem
        FROM ledger.transactions r JOIN ledger.transactions o ON o.id = r.reverses_id
       WHERE o.status <> 'reversed' OR o.reversed_by <> r.id
          OR EXISTS (
            (SELECT account_id, side, amount FROM ledger.entries WHERE transaction_id = o.id AND phase = 'posted'
             EXCEPT ALL
             SELECT account_id, CASE side WHEN 'debit' THEN 'credit' ELSE 'debit' END, amount
               FROM ledger.entries WHERE transaction_id = r.id)
            UNION ALL
            (SELECT account_id, CASE side WHEN 'debit' THEN 'credit' ELSE 'debit' END, amount
               FROM ledger.entries WHERE transaction_id = r.id
             EXCEPT ALL
             SELECT account_id, side, amount FROM ledger.entries WHERE transaction_id = o.id AND phase = 'posted'))`,
  },
  {
    name: 'idempotency-keys-resolve',
    description: 'every idempotency key points to the transaction or account it produced',
    countSql: `SELECT count(*) FROM ledger.idempotency_keys`,
    violationSql: `
      SELECT format('key %s/%s (%s) points to missing %s', k.tenant_id, k.key, k.operation, k.result_id) AS problem
        FROM ledger.idempotency_keys k
       WHERE NOT EXISTS (SELECT 1 FROM ledger.transactions t WHERE t.id = k.result_id AND t.tenant_id = k.tenant_id)
         AND NOT EXISTS (SELECT 1 FROM ledger.accounts a WHERE a.id = k.result_id AND a.tenant_id = k.tenant_id)`,
  },
  {
    name: 'shadow-credits-match',
    description:
      'each shadow credit is the one wallet credit of a posted transaction, and is reversed exactly when that transaction is',
    countSql: `SELECT count(*) FROM ledger.shadow_credits`,
    violationSql: `
      SELECT format('shadow credit of %s (document %s, %s): %s', c.transaction_id, c.document_id, c.state, problem) AS problem
        FROM ledger.shadow_credits c JOIN ledger.transactions t ON t.id = c.transaction_id
        CROSS JOIN LATERAL (
          SELECT CASE
            WHEN t.kind <> 'posted' THEN format('its transaction is %s, not posted', t.kind)
            WHEN (c.state = 'reversed') <> (t.status = 'reversed') THEN format('its transaction is %s', t.status)
            WHEN NOT EXISTS (SELECT 1 FROM ledger.entries e WHERE e.transaction_id = t.id AND e.account_id = c.account_id
                                AND e.side = 'credit' AND e.phase = 'posted' AND e.amount = c.amount)
              THEN 'no wallet credit of that amount in its transaction'
          END AS problem) p
       WHERE p.problem IS NOT NULL`,
  },
  {
    name: 'grants-sum-to-wallet',
    description:
      "a wallet with credit grants holds exactly the sum of its grants' remainders (posted and held)",
    countSql: `SELECT count(DISTINCT wallet_account_id) FROM ledger.grants`,
    violationSql: `
      SELECT format('wallet account %s: posted %s, held %s, but its grants hold %s and %s', w.id,
                    w.credits_posted - w.debits_posted, w.debits_pending, g.posted, g.held) AS problem
        FROM ledger.accounts w
        JOIN (SELECT gr.wallet_account_id, sum(a.credits_posted - a.debits_posted) AS posted,
                     sum(a.debits_pending) AS held
                FROM ledger.grants gr JOIN ledger.accounts a ON a.id = gr.account_id
               GROUP BY gr.wallet_account_id) g ON g.wallet_account_id = w.id
       WHERE (w.credits_posted - w.debits_posted, w.debits_pending) <> (g.posted, g.held)`,
  },
  {
    name: 'grants-consumed-within-terms',
    description:
      'nothing is drawn from a grant before it is effective, after it expired (except its expiry) or for a product it does not cover',
    countSql: `SELECT count(*) FROM ledger.grants`,
    violationSql: `
      SELECT format('grant %s: transaction %s (%s at %s) draws on it %s', g.account_id, t.id, t.action, t.created_at,
                    CASE WHEN t.created_at < g.effective_at THEN 'before it is effective'
                         WHEN t.created_at >= g.expires_at THEN 'after it expired'
                         ELSE format('for product "%s"', t.refs->>'product_code') END) AS problem
        FROM ledger.grants g
        JOIN ledger.entries e ON e.account_id = g.account_id AND e.side = 'debit' AND e.phase IN ('posted', 'pending')
        JOIN ledger.transactions t ON t.id = e.transaction_id
       WHERE t.kind IN ('posted', 'pending') AND t.action <> 'GRANT_EXPIRY'
         AND (t.created_at < g.effective_at OR t.created_at >= g.expires_at
              OR (t.action = 'USAGE' AND cardinality(g.product_codes) > 0
                  AND NOT coalesce(t.refs->>'product_code', '') = ANY (g.product_codes)))`,
  },
  {
    name: 'grants-well-formed',
    description: 'every grant account has its terms, inside a wallet account of its tenant and asset',
    countSql: `SELECT count(*) FROM ledger.accounts WHERE type = 'grant'`,
    violationSql: `
      SELECT format('grant account %s: %s', a.id,
                    CASE WHEN g.account_id IS NULL THEN 'no terms in ledger.grants'
                         ELSE 'not inside a wallet account of its asset' END) AS problem
        FROM ledger.accounts a
        LEFT JOIN ledger.grants g ON g.account_id = a.id
        LEFT JOIN ledger.accounts w ON w.id = g.wallet_account_id AND w.type = 'wallet'
                                    AND w.asset_code = a.asset_code AND w.tenant_id = a.tenant_id
       WHERE a.type = 'grant' AND (g.account_id IS NULL OR w.id IS NULL OR a.external_ref <> w.id::text)`,
  },
  {
    name: 'guards-installed',
    description: 'append-only and consistency triggers are installed and enabled',
    countSql: `SELECT 9 AS count`,
    violationSql: `
      SELECT format('trigger %s is missing or disabled', name) AS problem
        FROM unnest(ARRAY['entries_append_only', 'entries_no_truncate', 'entries_continue_chain', 'entries_balanced',
                          'accounts_match_entries', 'transactions_guard_transitions', 'shadow_credits_guard',
                          'transactions_settle_reversed_shadow_credit', 'grants_immutable']) AS name
       WHERE NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = name AND tgenabled <> 'D')`,
  },
];

export async function verifyLedger(
  db: DataSource,
  onProgress?: (check: VerifyCheck) => void,
): Promise<VerifyReport> {
  const runner = db.createQueryRunner();
  await runner.connect();
  const checks: VerifyCheck[] = [];
  try {
    await runner.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    for (const definition of CHECKS) {
      const [{ count }] = (await runner.query(definition.countSql)) as [{ count: string }];
      const rows = (await runner.query(`${definition.violationSql} LIMIT ${MAX_LISTED + 1}`)) as Array<{
        problem: string;
      }>;
      const check: VerifyCheck = {
        name: definition.name,
        description: definition.description,
        checked: Number(count),
        violations: rows.slice(0, MAX_LISTED).map((row) => row.problem),
      };
      if (rows.length > MAX_LISTED)
        check.violations.push(`… and more (only the first ${MAX_LISTED} are listed)`);
      checks.push(check);
      onProgress?.(check);
    }
    await runner.query('COMMIT');
  } catch (error) {
    await runner.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await runner.release();
  }
  return { checks, ok: checks.every((check) => check.violations.length === 0) };
}
