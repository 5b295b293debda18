import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The per-statement balance guard of migration 0010 checked "no entry of this transaction was
 * written before" with `e.transaction_id = … AND e.id < first_id LIMIT 1`: a planner may serve
 * that by walking the primary key backwards from first_id, through every older entry, when the
 * transaction has none (the normal case) — cost growing with the ledger (issue 10 part 6). It now
 * counts the transaction's entries, which only the entries_by_transaction index can answer, and
 * compares with the statement's own count. Same guarantee. Reviewed SQL; never edit once committed.
 */
export class BalancedCheckProbe1767225600011 implements MigrationInterface {
  name = 'BalancedCheckProbe1767225600011';

  async up(db: QueryRunner): Promise<void> {
    await db.query(CHECK_TRANSACTIONS_BALANCED.replace('$SECOND_QUERY', COUNT_QUERY));
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(CHECK_TRANSACTIONS_BALANCED.replace('$SECOND_QUERY', PROBE_QUERY));
  }
}

const COUNT_QUERY = `
    SELECT i.transaction_id INTO bad
      FROM (SELECT transaction_id, count(*) AS n FROM inserted GROUP BY transaction_id) i
     WHERE (SELECT count(*) FROM ledger.entries e WHERE e.transaction_id = i.transaction_id) <> i.n
     LIMIT 1;`;

const PROBE_QUERY = `
    SELECT i.transaction_id INTO bad
      FROM (SELECT transaction_id, min(id) AS first_id FROM inserted GROUP BY transaction_id) i
     CROSS JOIN LATERAL (SELECT 1 FROM ledger.entries e
                          WHERE e.transaction_id = i.transaction_id AND e.id < i.first_id LIMIT 1) earlier
     LIMIT 1;`;

/**
 * Every transaction of the statement has two or more entries, balanced per asset and phase, and
 * all of them are in this statement (as many stored as the statement wrote).
 */
const CHECK_TRANSACTIONS_BALANCED = `
CREATE OR REPLACE FUNCTION ledger.check_transactions_balanced_per_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE bad uuid;
BEGIN
  SELECT g.transaction_id INTO bad
    FROM (SELECT transaction_id, count(*) AS n,
                 sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) AS net
            FROM inserted GROUP BY transaction_id, asset_code, phase) g
   GROUP BY g.transaction_id
  HAVING sum(g.n) < 2 OR bool_or(g.net <> 0)
   LIMIT 1;
  IF bad IS NULL THEN$SECOND_QUERY
  END IF;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'transaction % is not balanced per asset', bad USING ERRCODE = 'SL003';
  END IF;
  RETURN NULL;
END $$`;
