import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Set-based posting (issue 10 part 1). Reviewed SQL; never edit once committed.
 *
 * ledger.post_commands takes a whole batch of commands as parallel arrays and runs a constant
 * number of statements whatever the batch size: read and lock what the batch touches (one
 * statement each, index probes only), decide every command in batch order in memory, then write
 * each table once. See docs/ledger.md ("Set-based posting") for how to extend it.
 *
 * The guards stay in the database but become per statement: the per-row triggers that checked the
 * entry chain, balanced transactions and account totals are replaced, under the same names, by
 * statement triggers over transition tables; the mirror's per-row upsert becomes one upsert per
 * statement. What they guard is unchanged, with one rule made explicit: a transaction's entries
 * are written by one INSERT statement (every writer already did so), and an account's totals are
 * updated after its entries are written (apply_entries is amended below to that order).
 */
export class SetBasedPosting1767225600010 implements MigrationInterface {
  name = 'SetBasedPosting1767225600010';

  async up(db: QueryRunner): Promise<void> {
    for (const sql of [
      CHECK_ENTRY_CHAIN,
      CHECK_TRANSACTIONS_BALANCED,
      CHECK_ACCOUNTS_MATCH_ENTRIES,
      MARK_WALLETS_CHANGED,
      APPLY_ENTRIES_ENTRIES_FIRST,
      POST_COMMANDS,
    ]) {
      await db.query(sql);
    }
    await db.query(`DROP TRIGGER entries_continue_chain ON ledger.entries`);
    await db.query(`CREATE TRIGGER entries_continue_chain AFTER INSERT ON ledger.entries
                      REFERENCING NEW TABLE AS inserted
                      FOR EACH STATEMENT EXECUTE FUNCTION ledger.check_entry_chain_per_statement()`);
    await db.query(`DROP TRIGGER entries_balanced ON ledger.entries`);
    await db.query(`CREATE TRIGGER entries_balanced AFTER INSERT ON ledger.entries
                      REFERENCING NEW TABLE AS inserted
                      FOR EACH STATEMENT EXECUTE FUNCTION ledger.check_transactions_balanced_per_statement()`);
    await db.query(`DROP TRIGGER accounts_match_entries ON ledger.accounts`);
    await db.query(`CREATE TRIGGER accounts_match_entries AFTER UPDATE ON ledger.accounts
                      REFERENCING NEW TABLE AS changed
                      FOR EACH STATEMENT EXECUTE FUNCTION ledger.check_accounts_match_entries_per_statement()`);
    await db.query(`DROP TRIGGER accounts_mark_wallet_changed ON ledger.accounts`);
    await db.query(`CREATE TRIGGER accounts_mark_wallet_changed AFTER UPDATE ON ledger.accounts
                      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                      FOR EACH STATEMENT EXECUTE FUNCTION ledger.mark_wallets_changed_per_statement()`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP FUNCTION ledger.post_commands(text[], text[], text[], text[], text[], integer[], text[],
                      jsonb[], jsonb[], uuid[], bigint[], text[], integer[], uuid[], text[], text[], bigint[])`);
    await db.query(`DROP TRIGGER accounts_mark_wallet_changed ON ledger.accounts`);
    await db.query(`CREATE TRIGGER accounts_mark_wallet_changed AFTER UPDATE OF version ON ledger.accounts
                      FOR EACH ROW WHEN (NEW.type = 'wallet' AND NEW.version IS DISTINCT FROM OLD.version)
                      EXECUTE FUNCTION ledger.mark_wallet_changed()`);
    await db.query(`DROP TRIGGER accounts_match_entries ON ledger.accounts`);
    await db.query(`CREATE CONSTRAINT TRIGGER accounts_match_entries AFTER UPDATE ON ledger.accounts
                      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger.check_account_matches_entries()`);
    await db.query(`DROP TRIGGER entries_balanced ON ledger.entries`);
    await db.query(`CREATE CONSTRAINT TRIGGER entries_balanced AFTER INSERT ON ledger.entries
                      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger.check_transaction_balanced()`);
    await db.query(`DROP TRIGGER entries_continue_chain ON ledger.entries`);
    await db.query(`CREATE TRIGGER entries_continue_chain BEFORE INSERT ON ledger.entries
                      FOR EACH ROW EXECUTE FUNCTION ledger.check_entry_chain()`);
    for (const fn of [
      'mark_wallets_changed_per_statement()',
      'check_accounts_match_entries_per_statement()',
      'check_transactions_balanced_per_statement()',
      'check_entry_chain_per_statement()',
    ]) {
      await db.query(`DROP FUNCTION ledger.${fn}`);
    }
    // apply_entries keeps the entries-first order: it is correct under both sets of triggers.
  }
}

/**
 * Each inserted entry continues its account's chain: the previous entry's running totals (the
 * previous row of this statement, or for an account's first row here its newest stored entry, one
 * index probe) plus its own amount; its version is the previous one, plus one for a new transaction.
 */
const CHECK_ENTRY_CHAIN = `
CREATE FUNCTION ledger.check_entry_chain_per_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE broken uuid;
BEGIN
  SELECT c.account_id INTO broken
    FROM (SELECT e.*, row_number() OVER w AS r,
                 lag(e.debits_posted) OVER w AS pdp, lag(e.credits_posted) OVER w AS pcp,
                 lag(e.debits_pending) OVER w AS pdq, lag(e.credits_pending) OVER w AS pcq,
                 lag(e.account_version) OVER w AS pv, lag(e.transaction_id) OVER w AS ptx
            FROM inserted e WINDOW w AS (PARTITION BY e.account_id ORDER BY e.id)) c
    -- LIMIT 1 keeps this a per-account index probe (entries_by_account), whatever the estimates.
    LEFT JOIN LATERAL (SELECT p.debits_posted, p.credits_posted, p.debits_pending, p.credits_pending,
                              p.account_version, p.transaction_id
                         FROM ledger.entries p
                        WHERE c.r = 1 AND p.account_id = c.account_id AND p.id < c.id
                        ORDER BY p.id DESC LIMIT 1) s ON true
    CROSS JOIN LATERAL (SELECT CASE WHEN c.r = 1 THEN coalesce(s.debits_posted, 0) ELSE c.pdp END AS dp,
                               CASE WHEN c.r = 1 THEN coalesce(s.credits_posted, 0) ELSE c.pcp END AS cp,
                               CASE WHEN c.r = 1 THEN coalesce(s.debits_pending, 0) ELSE c.pdq END AS dq,
                               CASE WHEN c.r = 1 THEN coalesce(s.credits_pending, 0) ELSE c.pcq END AS cq,
                               CASE WHEN c.r = 1 THEN coalesce(s.account_version, 0) ELSE c.pv END AS v,
                               CASE WHEN c.r = 1 THEN s.transaction_id ELSE c.ptx END AS tx) b
   WHERE (c.debits_posted, c.credits_posted, c.debits_pending, c.credits_pending, c.account_version)
         IS DISTINCT FROM
         (b.dp + CASE WHEN c.phase = 'posted' AND c.side = 'debit' THEN c.amount ELSE 0 END,
          b.cp + CASE WHEN c.phase = 'posted' AND c.side = 'credit' THEN c.amount ELSE 0 END,
          b.dq + CASE WHEN c.side = 'debit' THEN CASE c.phase WHEN 'pending' THEN c.amount
                                                               WHEN 'release' THEN -c.amount ELSE 0 END ELSE 0 END,
          b.cq + CASE WHEN c.side = 'credit' THEN CASE c.phase WHEN 'pending' THEN c.amount
                                                                WHEN 'release' THEN -c.amount ELSE 0 END ELSE 0 END,
          CASE WHEN b.tx = c.transaction_id THEN b.v ELSE b.v + 1 END)
   LIMIT 1;
  IF broken IS NOT NULL THEN
    RAISE EXCEPTION 'entry for account % breaks its chain of running totals', broken USING ERRCODE = 'SL003';
  END IF;
  RETURN NULL;
END $$`;

/**
 * Every transaction of the statement has two or more entries, balanced per asset and phase, and
 * all of them are in this statement (no entry of it was written before: one probe per transaction).
 */
const CHECK_TRANSACTIONS_BALANCED = `
CREATE FUNCTION ledger.check_transactions_balanced_per_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE bad uuid;
BEGIN
  SELECT g.transaction_id INTO bad
    FROM (SELECT transaction_id, count(*) AS n,
                 sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) AS net
            FROM inserted GROUP BY transaction_id, asset_code, phase) g
   GROUP BY g.transaction_id
  HAVING sum(g.n) < 2 OR bool_or(g.net <> 0)
   LIMIT 1;
  IF bad IS NULL THEN
    SELECT i.transaction_id INTO bad
      FROM (SELECT transaction_id, min(id) AS first_id FROM inserted GROUP BY transaction_id) i
     CROSS JOIN LATERAL (SELECT 1 FROM ledger.entries e
                          WHERE e.transaction_id = i.transaction_id AND e.id < i.first_id LIMIT 1) earlier
     LIMIT 1;
  END IF;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'transaction % is not balanced per asset', bad USING ERRCODE = 'SL003';
  END IF;
  RETURN NULL;
END $$`;

/** After an update, each changed account's totals and version are exactly its newest entry's. */
const CHECK_ACCOUNTS_MATCH_ENTRIES = `
CREATE FUNCTION ledger.check_accounts_match_entries_per_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE bad uuid;
BEGIN
  SELECT a.id INTO bad
    FROM changed a
    LEFT JOIN LATERAL (SELECT x.debits_posted, x.credits_posted, x.debits_pending, x.credits_pending, x.account_version
                         FROM ledger.entries x WHERE x.account_id = a.id ORDER BY x.id DESC LIMIT 1) e ON true
   WHERE (a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending, a.version)
         IS DISTINCT FROM (coalesce(e.debits_posted, 0), coalesce(e.credits_posted, 0), coalesce(e.debits_pending, 0),
                           coalesce(e.credits_pending, 0), coalesce(e.account_version, 0))
   LIMIT 1;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'account % balances do not match its entries', bad USING ERRCODE = 'SL003';
  END IF;
  RETURN NULL;
END $$`;

/** The mirror's pending versions, one upsert per statement (was one per changed wallet). */
const MARK_WALLETS_CHANGED = `
CREATE FUNCTION ledger.mark_wallets_changed_per_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ledger.mirror_state AS m (account_id, tenant_id, pending_version, pending_since)
  SELECT a.id, a.tenant_id, a.version, clock_timestamp()
    FROM new_rows a JOIN old_rows b ON b.id = a.id
   WHERE a.type = 'wallet' AND a.version IS DISTINCT FROM b.version
   ORDER BY a.id
  ON CONFLICT (account_id) DO UPDATE
    SET pending_version = greatest(m.pending_version, EXCLUDED.pending_version),
        pending_since = coalesce(m.pending_since, EXCLUDED.pending_since);
  RETURN NULL;
END $$`;

/**
 * apply_entries of migration 0001 (used by the per-command functions, still installed for
 * instances of the previous release), with its last two writes swapped: entries first, then the
 * accounts, so the per-statement check of the accounts sees the entries they must match.
 */
const APPLY_ENTRIES_ENTRIES_FIRST = `
CREATE OR REPLACE FUNCTION ledger.apply_entries(p_tenant text, p_transaction uuid, p_entries jsonb, p_asset text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  acc record;
  ids uuid[] := '{}'; assets text[] := '{}';
  dp bigint[] := '{}'; cp bigint[] := '{}'; dq bigint[] := '{}'; cq bigint[] := '{}'; versions bigint[] := '{}';
  enforced boolean[] := '{}'; credit_normal boolean[] := '{}'; overdraft bigint[] := '{}';
  e record;
  i int;
  unbalanced text;
  e_account uuid[] := '{}'; e_asset text[] := '{}'; e_side text[] := '{}'; e_phase text[] := '{}';
  e_amount bigint[] := '{}'; e_version bigint[] := '{}';
  e_dp bigint[] := '{}'; e_cp bigint[] := '{}'; e_dq bigint[] := '{}'; e_cq bigint[] := '{}';
  available bigint;
  v_appended jsonb;
BEGIN
  FOR acc IN
    SELECT a.id, a.asset_code, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending, a.version,
           a.limit_enforced, a.normal_side, a.overdraft_limit
    FROM ledger.accounts a
    WHERE a.tenant_id = p_tenant
      AND a.id = ANY(ARRAY(SELECT DISTINCT (x->>'account_id')::uuid FROM jsonb_array_elements(p_entries) x))
    ORDER BY a.id FOR UPDATE
  LOOP
    IF p_asset IS NOT NULL AND acc.asset_code <> p_asset THEN
      PERFORM ledger.fail('ASSET_MISMATCH',
        format('account %s holds %s, but this transaction is in %s', acc.id, acc.asset_code, p_asset), 'legs');
    END IF;
    ids := ids || acc.id; assets := assets || acc.asset_code;
    dp := dp || acc.debits_posted; cp := cp || acc.credits_posted;
    dq := dq || acc.debits_pending; cq := cq || acc.credits_pending;
    versions := versions || (acc.version + 1);
    enforced := enforced || acc.limit_enforced; credit_normal := credit_normal || (acc.normal_side = 'credit');
    overdraft := overdraft || acc.overdraft_limit;
  END LOOP;

  FOR e IN SELECT (x->>'account_id')::uuid AS account_id, x->>'side' AS side, x->>'phase' AS phase,
                  (x->>'amount')::bigint AS amount
           FROM jsonb_array_elements(p_entries) WITH ORDINALITY AS t(x, n) ORDER BY n
  LOOP
    i := array_position(ids, e.account_id);
    IF i IS NULL THEN
      PERFORM ledger.fail('ACCOUNT_NOT_FOUND', format('account %s does not exist', e.account_id), 'legs',
                          jsonb_build_object('account_id', e.account_id));
    END IF;
    IF e.phase = 'posted' THEN
      IF e.side = 'debit' THEN dp[i] := dp[i] + e.amount; ELSE cp[i] := cp[i] + e.amount; END IF;
    ELSIF e.phase = 'pending' THEN
      IF e.side = 'debit' THEN dq[i] := dq[i] + e.amount; ELSE cq[i] := cq[i] + e.amount; END IF;
    ELSE
      IF e.side = 'debit' THEN dq[i] := dq[i] - e.amount; ELSE cq[i] := cq[i] - e.amount; END IF;
    END IF;
    e_account := e_account || e.account_id; e_asset := e_asset || assets[i]; e_side := e_side || e.side;
    e_phase := e_phase || e.phase; e_amount := e_amount || e.amount; e_version := e_version || versions[i];
    e_dp := e_dp || dp[i]; e_cp := e_cp || cp[i]; e_dq := e_dq || dq[i]; e_cq := e_cq || cq[i];
  END LOOP;

  SELECT format('%s (%s)', u.asset, u.phase) INTO unbalanced
  FROM unnest(e_asset, e_phase, e_side, e_amount) AS u(asset, phase, side, amount)
  GROUP BY u.asset, u.phase HAVING sum(CASE u.side WHEN 'debit' THEN u.amount ELSE -u.amount END) <> 0 LIMIT 1;
  IF unbalanced IS NOT NULL THEN
    PERFORM ledger.fail('UNBALANCED_TRANSACTION', format('legs: debits must equal credits in %s', unbalanced), 'legs');
  END IF;

  FOR i IN 1 .. cardinality(ids) LOOP
    IF enforced[i] THEN
      available := CASE WHEN credit_normal[i] THEN cp[i] - dp[i] - dq[i] ELSE dp[i] - cp[i] - cq[i] END;
      IF available < -overdraft[i] THEN
        PERFORM ledger.fail('INSUFFICIENT_FUNDS',
          format('insufficient funds: account %s would be %s short (overdraft limit %s)', ids[i],
                 -overdraft[i] - available, overdraft[i]),
          'amount', jsonb_build_object('account_id', ids[i], 'shortfall', (-overdraft[i] - available)::text));
      END IF;
    END IF;
  END LOOP;

  WITH appended AS (
    INSERT INTO ledger.entries (tenant_id, transaction_id, account_id, asset_code, side, phase, amount, account_version,
                                debits_posted, credits_posted, debits_pending, credits_pending)
    SELECT p_tenant, p_transaction, u.account_id, u.asset_code, u.side, u.phase, u.amount, u.version,
           u.dp, u.cp, u.dq, u.cq
      FROM unnest(e_account, e_asset, e_side, e_phase, e_amount, e_version, e_dp, e_cp, e_dq, e_cq)
           WITH ORDINALITY AS u(account_id, asset_code, side, phase, amount, version, dp, cp, dq, cq, n)
     ORDER BY u.n
    RETURNING entries)
  SELECT jsonb_agg(ledger.entry_json(a.entries, CASE WHEN k.credit THEN 'credit' ELSE 'debit' END)
                   ORDER BY (a.entries).id)
    INTO v_appended
    FROM appended a JOIN unnest(ids, credit_normal) AS k(id, credit) ON k.id = (a.entries).account_id;

  UPDATE ledger.accounts a
     SET debits_posted = u.dp, credits_posted = u.cp, debits_pending = u.dq, credits_pending = u.cq, version = u.v
    FROM unnest(ids, dp, cp, dq, cq, versions) AS u(id, dp, cp, dq, cq, v)
   WHERE a.id = u.id;
  RETURN v_appended;
END $$`;

/**
 * The batch, command i at index i of every c_ array:
 *   c_op      'post' | 'hold' | 'post_pending' | 'void_pending' | 'reverse'
 *   c_tenant, c_key, c_hash   tenant, idempotency key, request fingerprint
 *   c_asset, c_timeout, c_action, c_refs, c_shadow   post/hold only (null elsewhere)
 *   c_meta    metadata of the new transaction
 *   c_target  post_pending/void_pending: the hold; reverse: the transaction to reverse
 *   c_amount  post_pending: a partial amount (null: all of it)
 *   c_legs    post/hold: how many legs; they follow each other in the l_ arrays, in command order
 *   l_account | l_system  the leg's account by id, or a system account type; l_side, l_amount
 * Returns one row per command (entry_id NULL) — code NULL when done (transaction_id, replayed),
 * else the error code, message and hint (JSON: field, facts) — and one row per new entry.
 *
 * Steps: 1 lock the targets, 2 read their entries, 3 resolve system accounts, 4 lock every
 * account in id order, 5 read the keys and shadow documents the batch names; 6 decide each
 * command in order against the in-memory state; 7 write keys, transactions, entries, accounts,
 * targets, outbox and shadow credits once each; 8 return the outcomes.
 */
const POST_COMMANDS = `
CREATE FUNCTION ledger.post_commands(
  c_op text[], c_tenant text[], c_key text[], c_hash text[], c_asset text[], c_timeout integer[], c_action text[],
  c_refs jsonb[], c_meta jsonb[], c_target uuid[], c_amount bigint[], c_shadow text[], c_legs integer[],
  l_account uuid[], l_system text[], l_side text[], l_amount bigint[])
RETURNS TABLE (n integer, code text, message text, hint text, transaction_id uuid, replayed boolean,
               kind text, status text, action text, asset_code text, pending_id uuid, reverses_id uuid,
               expires_at text, refs jsonb, metadata jsonb, created_at text,
               entry_id bigint, account_id uuid, entry_asset text, side text, phase text, amount bigint,
               normal_side text, account_version bigint, debits_posted bigint, credits_posted bigint,
               debits_pending bigint, credits_pending bigint)
LANGUAGE plpgsql SET lock_timeout = '5s' AS $$
DECLARE
  nc int := cardinality(c_op);
  nl int := coalesce(cardinality(l_account), 0);
  v_now timestamptz;
  v_now_text text;
  i int; j int; k int; t int; q int; lf int; lt int;
  -- legs
  leg_cmd int[]; leg_first int[]; leg_acc uuid[]; leg_k int[];
  -- targets (holds and reversed transactions), locked; their entries in id order
  tg_id uuid[]; tg_tenant text[]; tg_kind text[]; tg_status text[]; tg_expires timestamptz[]; tg_action text[]; tg_refs jsonb[];
  tg_asset text[]; tg_by uuid[]; tg_changed boolean[];
  c_tg int[];
  te_first int[]; te_count int[];
  te_acc uuid[]; te_k int[]; te_side text[]; te_phase text[]; te_amount bigint[]; te_tg int[];
  -- accounts, locked, sorted by id
  ids uuid[]; ac_tenant text[]; ac_asset text[]; ac_wallet boolean[]; ac_enforced boolean[]; ac_credit boolean[];
  ac_od bigint[]; ac_dp bigint[]; ac_cp bigint[]; ac_dq bigint[]; ac_cq bigint[]; ac_ver bigint[];
  ac_last int[]; ac_touched boolean[];
  -- keys and shadow documents
  db_op text[]; db_hash text[]; db_tx uuid[]; prev_key int[]; ks_op text[]; ks_hash text[]; ks_tx uuid[];
  db_doc_tx uuid[]; prev_doc int[];
  -- outcomes per command
  o_code text[]; o_msg text[]; o_hint text[]; o_tx uuid[]; o_replayed boolean[]; o_new boolean[];
  x_kind text[]; x_status text[]; x_action text[]; x_asset text[]; x_pending uuid[]; x_reverses uuid[];
  x_expires timestamptz[]; x_refs jsonb[]; x_event text[]; x_shadow_k int[]; x_shadow_amount bigint[];
  -- new entries
  ne int := 0; e_n int[]; e_k int[]; e_side text[]; e_phase text[]; e_amount bigint[]; e_ver bigint[];
  e_dp bigint[]; e_cp bigint[]; e_dq bigint[]; e_cq bigint[]; e_id bigint[];
  -- one command
  s_op text; s_kind text; s_tx uuid; s_code text; s_msg text; s_hint text; s_phase text;
  s_first_entry int; s_k int; s_avail bigint; s_held bigint; s_credits int; s_net bigint; s_found boolean;
  k_op text; k_tx uuid;
BEGIN
  IF nc IS NULL OR nc = 0 THEN RETURN; END IF;

  -- Legs: which command each belongs to, where each command's legs start.
  leg_cmd := '{}'; leg_first := array_fill(0, ARRAY[nc]);
  j := 1;
  FOR i IN 1 .. nc LOOP
    leg_first[i] := j;
    FOR q IN 1 .. coalesce(c_legs[i], 0) LOOP leg_cmd[j] := i; j := j + 1; END LOOP;
  END LOOP;
  IF j - 1 <> nl THEN
    RAISE EXCEPTION 'post_commands: c_legs adds up to %, but % legs were given', j - 1, nl USING ERRCODE = 'SL004';
  END IF;

  -- 1. The targets, locked in id order (before any account: the order every writer keeps).
  SELECT array_agg(x.id ORDER BY x.id), array_agg(x.kind ORDER BY x.id), array_agg(x.status ORDER BY x.id),
         array_agg(x.expires_at ORDER BY x.id), array_agg(x.action ORDER BY x.id), array_agg(x.refs ORDER BY x.id),
         array_agg(x.asset_code ORDER BY x.id), array_agg(coalesce(x.resolved_by, x.reversed_by) ORDER BY x.id),
         array_agg(x.tenant_id ORDER BY x.id)
    INTO tg_id, tg_kind, tg_status, tg_expires, tg_action, tg_refs, tg_asset, tg_by, tg_tenant
    FROM (SELECT tr.id, tr.kind, tr.status, tr.expires_at, tr.action, tr.refs, tr.asset_code, tr.resolved_by,
                 tr.reversed_by, tr.tenant_id
            FROM ledger.transactions tr WHERE tr.id = ANY(c_target) ORDER BY tr.id FOR UPDATE) x;
  IF tg_id IS NOT NULL THEN
    -- Which target each command names (within its own tenant: another tenant's is not found).
    SELECT array_agg(g.k::int ORDER BY u.i) INTO c_tg
      FROM unnest(c_target, c_tenant) WITH ORDINALITY u(id, tenant, i)
      LEFT JOIN unnest(tg_id, tg_tenant) WITH ORDINALITY g(id, tenant, k) ON g.id = u.id AND g.tenant = u.tenant;
    tg_changed := array_fill(false, ARRAY[cardinality(tg_id)]);
    te_first := array_fill(NULL::int, ARRAY[cardinality(tg_id)]);
    te_count := array_fill(0, ARRAY[cardinality(tg_id)]);
    -- 2. Their entries, in id order per target (one probe each on entries_by_transaction).
    SELECT array_agg(a.k ORDER BY a.k, e.id), array_agg(e.account_id ORDER BY a.k, e.id),
           array_agg(e.side ORDER BY a.k, e.id), array_agg(e.phase ORDER BY a.k, e.id),
           array_agg(e.amount ORDER BY a.k, e.id)
      INTO te_tg, te_acc, te_side, te_phase, te_amount
      FROM unnest(tg_id) WITH ORDINALITY a(id, k)
      CROSS JOIN LATERAL (SELECT x.id, x.account_id, x.side, x.phase, x.amount FROM ledger.entries x
                           WHERE x.transaction_id = a.id ORDER BY x.id LIMIT 10000) e;
    FOR q IN 1 .. coalesce(cardinality(te_tg), 0) LOOP
      t := te_tg[q];
      IF te_first[t] IS NULL THEN te_first[t] := q; END IF;
      te_count[t] := te_count[t] + 1;
    END LOOP;
  END IF;

  -- 3. System accounts by (tenant, asset, type): one probe per distinct combination.
  -- 4. Every account of the batch, locked in id order: legs first, then the targets' entries.
  SELECT array_agg(coalesce(l.acc, f.id) ORDER BY l.j) INTO leg_acc
    FROM (SELECT u.acc, u.sys, u.j, c_tenant[u.c] AS tenant, c_asset[u.c] AS asset
            FROM unnest(l_account, l_system, leg_cmd) WITH ORDINALITY u(acc, sys, c, j)
           UNION ALL
          SELECT u.acc, NULL, nl + u.j, NULL, NULL FROM unnest(te_acc) WITH ORDINALITY u(acc, j)) l
    LEFT JOIN (SELECT d.tenant, d.asset, d.sys, s.id
                 FROM (SELECT DISTINCT c_tenant[u.c] AS tenant, c_asset[u.c] AS asset, u.sys
                         FROM unnest(l_system, leg_cmd) u(sys, c) WHERE u.sys IS NOT NULL) d
                 CROSS JOIN LATERAL (SELECT a.id FROM ledger.accounts a
                                      WHERE a.tenant_id = d.tenant AND a.asset_code = d.asset AND a.type = d.sys
                                        AND a.type <> 'wallet' LIMIT 1) s) f
      ON l.sys IS NOT NULL AND f.tenant = l.tenant AND f.asset = l.asset AND f.sys = l.sys;

  SELECT array_agg(a.id ORDER BY a.id), array_agg(a.tenant_id ORDER BY a.id), array_agg(a.asset_code ORDER BY a.id),
         array_agg(a.type = 'wallet' ORDER BY a.id), array_agg(a.limit_enforced ORDER BY a.id),
         array_agg(a.normal_side = 'credit' ORDER BY a.id), array_agg(a.overdraft_limit ORDER BY a.id),
         array_agg(a.debits_posted ORDER BY a.id), array_agg(a.credits_posted ORDER BY a.id),
         array_agg(a.debits_pending ORDER BY a.id), array_agg(a.credits_pending ORDER BY a.id),
         array_agg(a.version ORDER BY a.id)
    INTO ids, ac_tenant, ac_asset, ac_wallet, ac_enforced, ac_credit, ac_od, ac_dp, ac_cp, ac_dq, ac_cq, ac_ver
    FROM (SELECT * FROM ledger.accounts a
           WHERE a.id = ANY(ARRAY(SELECT DISTINCT x FROM unnest(leg_acc) x WHERE x IS NOT NULL))
           ORDER BY a.id FOR UPDATE) a;
  v_now := clock_timestamp(); -- after the locks: an account's entries are in time order too
  v_now_text := to_jsonb(v_now) #>> '{}';

  -- Each leg (and each target entry) to its account's index in ids.
  SELECT array_agg(r.k::int ORDER BY l.j) INTO leg_k
    FROM unnest(leg_acc) WITH ORDINALITY l(acc, j)
    LEFT JOIN unnest(ids) WITH ORDINALITY r(id, k) ON r.id = l.acc;
  IF tg_id IS NOT NULL THEN
    te_k := leg_k[nl + 1 : nl + coalesce(cardinality(te_tg), 0)];
  END IF;
  ac_last := array_fill(0, ARRAY[greatest(coalesce(cardinality(ids), 0), 1)]);
  ac_touched := array_fill(false, ARRAY[greatest(coalesce(cardinality(ids), 0), 1)]);

  -- 5. Stored keys (one probe each), the previous command of the batch with the same key, and the
  --    same for shadow documents.
  SELECT array_agg(kk.operation ORDER BY u.i), array_agg(kk.request_hash ORDER BY u.i),
         array_agg(kk.result_id ORDER BY u.i), array_agg(u.prev ORDER BY u.i),
         array_agg(sd.transaction_id ORDER BY u.i), array_agg(u.prev_doc ORDER BY u.i)
    INTO db_op, db_hash, db_tx, prev_key, db_doc_tx, prev_doc
    FROM (SELECT v.*, lag(v.i) OVER (PARTITION BY v.tenant, v.key ORDER BY v.i) AS prev,
                 CASE WHEN v.doc IS NOT NULL THEN lag(v.i) OVER (PARTITION BY v.tenant, v.doc ORDER BY v.i) END AS prev_doc
            FROM unnest(c_tenant, c_key, c_shadow) WITH ORDINALITY v(tenant, key, doc, i)) u
    LEFT JOIN LATERAL (SELECT ik.operation, ik.request_hash, ik.result_id FROM ledger.idempotency_keys ik
                        WHERE ik.tenant_id = u.tenant AND ik.key = u.key LIMIT 1) kk ON true
    LEFT JOIN LATERAL (SELECT sc.transaction_id FROM ledger.shadow_credits sc
                        WHERE u.doc IS NOT NULL AND sc.tenant_id = u.tenant AND sc.document_id = u.doc LIMIT 1) sd ON true;

  o_code := array_fill(NULL::text, ARRAY[nc]); o_msg := o_code; o_hint := o_code;
  o_tx := array_fill(NULL::uuid, ARRAY[nc]); o_replayed := array_fill(false, ARRAY[nc]); o_new := o_replayed;
  ks_op := o_code; ks_hash := o_code; ks_tx := o_tx;
  x_kind := o_code; x_status := o_code; x_action := o_code; x_asset := o_code; x_event := o_code;
  x_pending := o_tx; x_reverses := o_tx; x_expires := array_fill(NULL::timestamptz, ARRAY[nc]);
  x_refs := array_fill(NULL::jsonb, ARRAY[nc]); x_shadow_k := array_fill(NULL::int, ARRAY[nc]);
  x_shadow_amount := array_fill(NULL::bigint, ARRAY[nc]);

  -- 6. Decide each command in order.
  FOR i IN 1 .. nc LOOP
    s_op := c_op[i];
    s_code := NULL; s_msg := NULL; s_hint := NULL;
    IF s_op IN ('post', 'hold') THEN k_op := 'post_transaction';
    ELSIF s_op IN ('post_pending', 'void_pending') THEN k_op := s_op;
    ELSIF s_op = 'reverse' THEN k_op := 'reverse_transaction';
    ELSE RAISE EXCEPTION 'post_commands: unknown operation %', s_op USING ERRCODE = 'SL004';
    END IF;

    -- The key as it stands before this command (kept after it unless it is done): claimed by an
    -- earlier command of the batch that was done, or stored before.
    q := prev_key[i];
    IF q IS NOT NULL THEN
      ks_op[i] := ks_op[q]; ks_hash[i] := ks_hash[q]; ks_tx[i] := ks_tx[q];
    ELSE
      ks_op[i] := db_op[i]; ks_hash[i] := db_hash[i]; ks_tx[i] := db_tx[i];
    END IF;
    IF ks_tx[i] IS NOT NULL THEN
      IF ks_op[i] = k_op AND ks_hash[i] = c_hash[i] THEN
        o_tx[i] := ks_tx[i]; o_replayed[i] := true;
      ELSE
        o_code[i] := 'IDEMPOTENCY_CONFLICT';
        o_msg[i] := format('idempotency_key: "%s" was already used for a different request (%s); use a new key for a new request',
                           c_key[i], ks_op[i]);
        o_hint[i] := '{"field": "idempotency_key"}';
      END IF;
      CONTINUE;
    END IF;

    s_first_entry := ne + 1;
    t := NULL;
    IF s_op IN ('post', 'hold') THEN
      s_kind := CASE s_op WHEN 'hold' THEN 'pending' ELSE 'posted' END;
      s_phase := CASE s_op WHEN 'hold' THEN 'pending' ELSE 'posted' END;
      lf := leg_first[i]; lt := leg_first[i] + c_legs[i] - 1;
      FOR j IN lf .. lt LOOP
        k := leg_k[j];
        IF k IS NULL OR ac_tenant[k] <> c_tenant[i] THEN
          IF l_system[j] IS NOT NULL THEN
            s_code := 'ASSET_NOT_FOUND';
            s_msg := format('asset_code: %s is not defined for this tenant', c_asset[i]);
            s_hint := '{"field": "asset_code"}';
          ELSE
            s_code := 'ACCOUNT_NOT_FOUND'; s_msg := format('account %s does not exist', l_account[j]);
            s_hint := jsonb_build_object('field', 'legs', 'facts', jsonb_build_object('account_id', l_account[j]))::text;
          END IF;
          EXIT;
        END IF;
        IF c_asset[i] IS NOT NULL AND ac_asset[k] <> c_asset[i] THEN
          s_code := 'ASSET_MISMATCH';
          s_msg := format('account %s holds %s, but this transaction is in %s', ids[k], ac_asset[k], c_asset[i]);
          s_hint := '{"field": "legs"}';
          EXIT;
        END IF;
      END LOOP;
      IF s_code IS NULL THEN
        -- Balanced per asset: each asset's legs net to zero.
        FOR j IN lf .. lt LOOP
          s_net := 0;
          FOR q IN lf .. lt LOOP
            IF ac_asset[leg_k[q]] = ac_asset[leg_k[j]] THEN
              s_net := s_net + CASE l_side[q] WHEN 'debit' THEN l_amount[q] ELSE -l_amount[q] END;
            END IF;
          END LOOP;
          IF s_net <> 0 THEN
            s_code := 'UNBALANCED_TRANSACTION';
            s_msg := format('legs: debits must equal credits in %s (%s)', ac_asset[leg_k[j]], s_phase);
            s_hint := '{"field": "legs"}';
            EXIT;
          END IF;
        END LOOP;
      END IF;
      IF s_code IS NULL THEN
        FOR j IN lf .. lt LOOP
          ne := ne + 1; e_n[ne] := i; e_k[ne] := leg_k[j]; e_side[ne] := l_side[j]; e_phase[ne] := s_phase;
          e_amount[ne] := l_amount[j];
        END LOOP;
      END IF;
    ELSE
      t := c_tg[i];
      s_kind := CASE s_op WHEN 'reverse' THEN 'reversal' ELSE s_op END;
      IF t IS NULL THEN
        s_code := 'TRANSACTION_NOT_FOUND';
        IF s_op = 'reverse' THEN
          s_msg := format('transaction_id: transaction %s does not exist', c_target[i]);
          s_hint := '{"field": "transaction_id"}';
        ELSE
          s_msg := format('pending_transaction_id: transaction %s does not exist', c_target[i]);
          s_hint := '{"field": "pending_transaction_id"}';
        END IF;
      ELSIF s_op IN ('post_pending', 'void_pending') THEN
        SELECT max(a) INTO s_held FROM unnest(te_amount[te_first[t] : te_first[t] + te_count[t] - 1]) a;
        IF tg_kind[t] <> 'pending' THEN
          s_code := 'HOLD_NOT_PENDING';
          s_msg := format('transaction %s is not a hold (it is %s)', tg_id[t], tg_kind[t]);
          s_hint := '{"field": "pending_transaction_id"}';
        ELSIF tg_status[t] <> 'pending' THEN
          s_code := 'HOLD_NOT_PENDING';
          s_msg := format('hold %s was already %s by transaction %s', tg_id[t], tg_status[t], tg_by[t]);
          s_hint := jsonb_build_object('field', 'pending_transaction_id',
                                       'facts', jsonb_build_object('status', tg_status[t], 'resolved_by', tg_by[t]))::text;
        ELSIF s_op = 'post_pending' AND tg_expires[t] IS NOT NULL AND tg_expires[t] <= v_now THEN
          s_code := 'HOLD_EXPIRED';
          s_msg := format('hold %s expired at %s and can no longer be posted', tg_id[t], tg_expires[t]);
          s_hint := '{"field": "pending_transaction_id"}';
        ELSIF c_amount[i] IS NOT NULL AND te_count[t] <> 2 THEN
          s_code := 'INVALID_ARGUMENT';
          s_msg := 'amount: a partial amount can only post a hold with two legs';
          s_hint := '{"field": "amount"}';
        ELSIF c_amount[i] > s_held THEN
          s_code := 'AMOUNT_EXCEEDS_HOLD';
          s_msg := format('amount: %s is more than the %s the hold holds', c_amount[i], s_held);
          s_hint := jsonb_build_object('field', 'amount', 'facts', jsonb_build_object('held', s_held::text))::text;
        ELSE
          -- Release everything held; a post then moves the (possibly partial) amount as posted.
          FOR q IN te_first[t] .. te_first[t] + te_count[t] - 1 LOOP
            ne := ne + 1; e_n[ne] := i; e_k[ne] := te_k[q]; e_side[ne] := te_side[q]; e_phase[ne] := 'release';
            e_amount[ne] := te_amount[q];
          END LOOP;
          IF s_op = 'post_pending' THEN
            FOR q IN te_first[t] .. te_first[t] + te_count[t] - 1 LOOP
              ne := ne + 1; e_n[ne] := i; e_k[ne] := te_k[q]; e_side[ne] := te_side[q]; e_phase[ne] := 'posted';
              e_amount[ne] := coalesce(c_amount[i], te_amount[q]);
            END LOOP;
          END IF;
        END IF;
      ELSE
        IF tg_kind[t] = 'pending' AND tg_status[t] = 'posted' THEN
          s_code := 'NOT_REVERSIBLE';
          s_msg := format('hold %s was captured by transaction %s: reverse that capture instead', tg_id[t], tg_by[t]);
          s_hint := jsonb_build_object('field', 'transaction_id', 'facts', jsonb_build_object('capture', tg_by[t]))::text;
        ELSIF tg_kind[t] = 'pending' AND tg_status[t] = 'voided' THEN
          s_code := 'NOT_REVERSIBLE'; s_msg := format('hold %s was already voided: nothing to reverse', tg_id[t]);
          s_hint := '{"field": "transaction_id"}';
        ELSIF tg_kind[t] = 'pending' THEN
          s_code := 'NOT_REVERSIBLE'; s_msg := format('transaction %s is a hold: void it instead', tg_id[t]);
          s_hint := '{"field": "transaction_id"}';
        ELSIF tg_kind[t] = 'void_pending' THEN
          s_code := 'NOT_REVERSIBLE';
          s_msg := format('transaction %s released a hold; a release cannot be reversed', tg_id[t]);
          s_hint := '{"field": "transaction_id"}';
        ELSIF tg_kind[t] = 'reversal' THEN
          s_code := 'NOT_REVERSIBLE'; s_msg := format('transaction %s is itself a reversal', tg_id[t]);
          s_hint := '{"field": "transaction_id"}';
        ELSIF tg_status[t] = 'reversed' THEN
          s_code := 'NOT_REVERSIBLE';
          s_msg := format('transaction %s was already reversed by %s', tg_id[t], tg_by[t]);
          s_hint := jsonb_build_object('field', 'transaction_id', 'facts', jsonb_build_object('reversed_by', tg_by[t]))::text;
        ELSE
          FOR q IN te_first[t] .. te_first[t] + te_count[t] - 1 LOOP
            IF te_phase[q] = 'posted' THEN
              ne := ne + 1; e_n[ne] := i; e_k[ne] := te_k[q]; e_phase[ne] := 'posted'; e_amount[ne] := te_amount[q];
              e_side[ne] := CASE te_side[q] WHEN 'debit' THEN 'credit' ELSE 'debit' END;
            END IF;
          END LOOP;
        END IF;
      END IF;
    END IF;

    IF s_code IS NULL THEN
      -- Apply the entries to the in-memory totals, each entry recording the totals right after it.
      FOR q IN s_first_entry .. ne LOOP
        k := e_k[q];
        IF e_phase[q] = 'posted' THEN
          IF e_side[q] = 'debit' THEN ac_dp[k] := ac_dp[k] + e_amount[q]; ELSE ac_cp[k] := ac_cp[k] + e_amount[q]; END IF;
        ELSIF e_phase[q] = 'pending' THEN
          IF e_side[q] = 'debit' THEN ac_dq[k] := ac_dq[k] + e_amount[q]; ELSE ac_cq[k] := ac_cq[k] + e_amount[q]; END IF;
        ELSE
          IF e_side[q] = 'debit' THEN ac_dq[k] := ac_dq[k] - e_amount[q]; ELSE ac_cq[k] := ac_cq[k] - e_amount[q]; END IF;
        END IF;
        e_ver[q] := ac_ver[k] + 1;
        e_dp[q] := ac_dp[k]; e_cp[q] := ac_cp[k]; e_dq[q] := ac_dq[k]; e_cq[q] := ac_cq[k];
      END LOOP;
      -- Limits: refuse with a readable error before anything is written (the CHECK backs this up).
      FOR q IN s_first_entry .. ne LOOP
        k := e_k[q];
        IF ac_enforced[k] THEN
          s_avail := CASE WHEN ac_credit[k] THEN ac_cp[k] - ac_dp[k] - ac_dq[k] ELSE ac_dp[k] - ac_cp[k] - ac_cq[k] END;
          IF s_avail < -ac_od[k] THEN
            s_code := 'INSUFFICIENT_FUNDS';
            s_msg := format('insufficient funds: account %s would be %s short (overdraft limit %s)', ids[k],
                            -ac_od[k] - s_avail, ac_od[k]);
            s_hint := jsonb_build_object('field', 'amount', 'facts',
                        jsonb_build_object('account_id', ids[k], 'shortfall', (-ac_od[k] - s_avail)::text))::text;
            EXIT;
          END IF;
        END IF;
      END LOOP;
      -- A shadow credit: posted only, one per document, exactly one wallet credited.
      IF s_code IS NULL AND c_shadow[i] IS NOT NULL THEN
        IF s_op <> 'post' THEN
          s_code := 'INVALID_ARGUMENT';
          s_msg := 'shadow_document_id: only a posted transaction can carry a shadow credit, not a hold';
          s_hint := '{"field": "shadow_document_id"}';
        ELSE
          k_tx := db_doc_tx[i];
          q := prev_doc[i];
          WHILE k_tx IS NULL AND q IS NOT NULL LOOP
            IF o_new[q] THEN k_tx := o_tx[q]; END IF;
            q := prev_doc[q];
          END LOOP;
          IF k_tx IS NOT NULL THEN
            s_code := 'SHADOW_CREDIT_CONFLICT';
            s_msg := format('shadow_document_id: document %s was already credited by transaction %s', c_shadow[i], k_tx);
            s_hint := jsonb_build_object('field', 'shadow_document_id',
                                         'facts', jsonb_build_object('transaction_id', k_tx))::text;
          ELSE
            s_credits := 0;
            FOR q IN s_first_entry .. ne LOOP
              IF e_side[q] = 'credit' AND ac_wallet[e_k[q]] THEN
                s_credits := s_credits + 1; x_shadow_k[i] := e_k[q]; x_shadow_amount[i] := e_amount[q];
              END IF;
            END LOOP;
            IF s_credits <> 1 THEN
              s_code := 'INVALID_ARGUMENT';
              s_msg := format('shadow_document_id: a shadow credit must credit exactly one wallet; this transaction credits %s',
                              s_credits);
              s_hint := '{"field": "shadow_document_id"}';
            END IF;
          END IF;
        END IF;
      END IF;
      IF s_code IS NOT NULL THEN
        -- Refused: undo its totals, forget its entries.
        FOR q IN REVERSE ne .. s_first_entry LOOP
          k := e_k[q];
          IF e_phase[q] = 'posted' THEN
            IF e_side[q] = 'debit' THEN ac_dp[k] := ac_dp[k] - e_amount[q]; ELSE ac_cp[k] := ac_cp[k] - e_amount[q]; END IF;
          ELSIF e_phase[q] = 'pending' THEN
            IF e_side[q] = 'debit' THEN ac_dq[k] := ac_dq[k] - e_amount[q]; ELSE ac_cq[k] := ac_cq[k] - e_amount[q]; END IF;
          ELSE
            IF e_side[q] = 'debit' THEN ac_dq[k] := ac_dq[k] + e_amount[q]; ELSE ac_cq[k] := ac_cq[k] + e_amount[q]; END IF;
          END IF;
        END LOOP;
        x_shadow_k[i] := NULL;
        ne := s_first_entry - 1;
      END IF;
    END IF;

    IF s_code IS NOT NULL THEN
      o_code[i] := s_code; o_msg[i] := s_msg; o_hint[i] := s_hint;
      CONTINUE;
    END IF;

    -- Done: a new transaction; every account it touched moves to its next version once.
    s_tx := gen_random_uuid();
    o_tx[i] := s_tx; o_new[i] := true;
    ks_op[i] := k_op; ks_hash[i] := c_hash[i]; ks_tx[i] := s_tx;
    FOR q IN s_first_entry .. ne LOOP
      k := e_k[q];
      IF ac_last[k] <> i THEN ac_last[k] := i; ac_ver[k] := ac_ver[k] + 1; ac_touched[k] := true; END IF;
    END LOOP;
    x_kind[i] := s_kind;
    IF s_op IN ('post', 'hold') THEN
      x_status[i] := s_kind; x_action[i] := c_action[i]; x_asset[i] := c_asset[i]; x_refs[i] := c_refs[i];
      x_expires[i] := CASE WHEN s_op = 'hold' AND c_timeout[i] > 0
                           THEN v_now + make_interval(secs => c_timeout[i]) END;
      x_event[i] := CASE s_op WHEN 'hold' THEN 'transaction.pending' ELSE 'transaction.posted' END;
    ELSE
      x_status[i] := 'posted'; x_action[i] := tg_action[t]; x_asset[i] := tg_asset[t]; x_refs[i] := tg_refs[t];
      tg_changed[t] := true; tg_by[t] := s_tx;
      IF s_op = 'reverse' THEN
        tg_status[t] := 'reversed'; x_reverses[i] := tg_id[t]; x_event[i] := 'transaction.reversed';
      ELSE
        tg_status[t] := CASE s_op WHEN 'post_pending' THEN 'posted' ELSE 'voided' END; x_pending[i] := tg_id[t];
        x_event[i] := CASE s_op WHEN 'post_pending' THEN 'transaction.posted_from_pending' ELSE 'transaction.voided' END;
      END IF;
    END IF;
  END LOOP;

  -- 7. Write each table once. Keys first, in a fixed order: a key claimed by a concurrent batch
  --    makes this statement wait for it and then fail (unique violation); the caller retries and
  --    then sees the key as stored (a replay or a conflict).
  INSERT INTO ledger.idempotency_keys (tenant_id, key, operation, request_hash, result_id, created_at)
  SELECT u.tenant, u.key, u.op, u.hash, u.tx, v_now
    FROM unnest(c_tenant, c_key, ks_op, c_hash, o_tx, o_new) u(tenant, key, op, hash, tx, fresh)
   WHERE u.fresh ORDER BY u.tenant, u.key;

  INSERT INTO ledger.transactions (id, tenant_id, kind, status, action, idempotency_key, asset_code, pending_id,
                                   reverses_id, expires_at, refs, metadata, created_at)
  SELECT u.tx, u.tenant, u.kind, u.status, coalesce(u.action, ''), u.key, u.asset, u.pending, u.reverses, u.expires,
         coalesce(u.refs, '{}'), coalesce(u.meta, '{}'), v_now
    FROM unnest(o_tx, c_tenant, x_kind, x_status, x_action, c_key, x_asset, x_pending, x_reverses, x_expires,
                x_refs, c_meta, o_new) u(tx, tenant, kind, status, action, key, asset, pending, reverses, expires,
                                         refs, meta, fresh)
   WHERE u.fresh;

  IF ne > 0 THEN
    SELECT array_agg(nextval('ledger.entries_id_seq'::regclass) ORDER BY g) INTO e_id FROM generate_series(1, ne) g;
    INSERT INTO ledger.entries (id, tenant_id, transaction_id, account_id, asset_code, side, phase, amount,
                                account_version, debits_posted, credits_posted, debits_pending, credits_pending,
                                created_at)
    OVERRIDING SYSTEM VALUE
    SELECT u.id, c_tenant[u.c], o_tx[u.c], ids[u.k], ac_asset[u.k], u.side, u.phase, u.amount, u.v,
           u.dp, u.cp, u.dq, u.cq, v_now
      FROM unnest(e_id[1:ne], e_n[1:ne], e_k[1:ne], e_side[1:ne], e_phase[1:ne], e_amount[1:ne], e_ver[1:ne],
                  e_dp[1:ne], e_cp[1:ne], e_dq[1:ne], e_cq[1:ne]) u(id, c, k, side, phase, amount, v, dp, cp, dq, cq)
     ORDER BY u.id;

    UPDATE ledger.accounts a
       SET debits_posted = u.dp, credits_posted = u.cp, debits_pending = u.dq, credits_pending = u.cq, version = u.v
      FROM unnest(ids, ac_dp, ac_cp, ac_dq, ac_cq, ac_ver, ac_touched) u(id, dp, cp, dq, cq, v, touched)
     WHERE a.id = u.id AND u.touched;
  END IF;

  IF tg_id IS NOT NULL THEN
    UPDATE ledger.transactions tr
       SET status = u.status,
           resolved_by = CASE WHEN u.status IN ('posted', 'voided') THEN u.by ELSE tr.resolved_by END,
           reversed_by = CASE WHEN u.status = 'reversed' THEN u.by ELSE tr.reversed_by END
      FROM unnest(tg_id, tg_status, tg_by, tg_changed) u(id, status, by, changed)
     WHERE tr.id = u.id AND u.changed;
  END IF;

  INSERT INTO ledger.outbox (tenant_id, event_type, transaction_id, created_at)
  SELECT u.tenant, u.event, u.tx, v_now
    FROM unnest(c_tenant, x_event, o_tx, o_new) u(tenant, event, tx, fresh)
   WHERE u.fresh;

  INSERT INTO ledger.shadow_credits (transaction_id, tenant_id, account_id, document_id, amount, created_at)
  SELECT u.tx, u.tenant, ids[u.k], u.doc, u.amount, v_now
    FROM unnest(o_tx, c_tenant, x_shadow_k, c_shadow, x_shadow_amount, o_new) u(tx, tenant, k, doc, amount, fresh)
   WHERE u.fresh AND u.k IS NOT NULL;

  -- 8. Outcomes: one row per command, then one per new entry.
  RETURN QUERY
    SELECT u.i::int, u.code, u.msg, u.hint, u.tx, u.replayed,
           u.kind, u.status, coalesce(u.action, ''), coalesce(u.asset, ''), u.pending, u.reverses,
           to_jsonb(u.expires) #>> '{}', coalesce(u.refs, '{}'::jsonb), coalesce(u.meta, '{}'::jsonb),
           CASE WHEN u.fresh THEN v_now_text END,
           NULL::bigint, NULL::uuid, NULL::text, NULL::text, NULL::text, NULL::bigint, NULL::text, NULL::bigint,
           NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint
      FROM unnest(o_code, o_msg, o_hint, o_tx, o_replayed, x_kind, x_status, x_action, x_asset, x_pending, x_reverses,
                  x_expires, x_refs, c_meta, o_new)
           WITH ORDINALITY u(code, msg, hint, tx, replayed, kind, status, action, asset, pending, reverses, expires,
                             refs, meta, fresh, i);
  IF ne > 0 THEN
    RETURN QUERY
      SELECT u.c, NULL::text, NULL::text, NULL::text, o_tx[u.c], false, NULL::text, NULL::text, NULL::text,
             NULL::text, NULL::uuid, NULL::uuid, NULL::text, NULL::jsonb, NULL::jsonb, v_now_text,
             u.id, ids[u.k], ac_asset[u.k], u.side, u.phase, u.amount,
             CASE WHEN ac_credit[u.k] THEN 'credit' ELSE 'debit' END, u.v, u.dp, u.cp, u.dq, u.cq
        FROM unnest(e_id[1:ne], e_n[1:ne], e_k[1:ne], e_side[1:ne], e_phase[1:ne], e_amount[1:ne], e_ver[1:ne],
                    e_dp[1:ne], e_cp[1:ne], e_dq[1:ne], e_cq[1:ne]) u(id, c, k, side, phase, amount, v, dp, cp, dq, cq);
  END IF;
END $$`;
