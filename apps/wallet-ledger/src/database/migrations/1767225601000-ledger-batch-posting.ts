import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Posts many commands in one database transaction (group commit), each in its own
 * subtransaction, so one refused command never affects the others. Locks are taken up front in
 * one fixed order — the holds named by the commands, then every account they touch, each by id —
 * so batches running side by side can queue on each other but cannot deadlock.
 * Commands: {op: post_transaction | resolve_pending | reverse_transaction, tenant_id, ...} as the
 * single-command functions take them. Result: one {ok: <transaction>} or {error: {code, message,
 * detail, hint}} per command, in order.
 */
export class LedgerBatchPosting1767225601000 implements MigrationInterface {
  name = 'LedgerBatchPosting1767225601000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
CREATE FUNCTION ledger.post_batch(p jsonb) RETURNS jsonb LANGUAGE plpgsql
SET lock_timeout = '5s' AS $$
DECLARE
  cmd jsonb;
  result jsonb;
  results jsonb[] := '{}';
  v_state text; v_message text; v_detail text; v_hint text;
BEGIN
  -- One command locks in its own order (key, hold, accounts by id); only batches need the up-front locks.
  IF jsonb_array_length(p) > 1 THEN
  PERFORM 1 FROM ledger.transactions t
   WHERE (t.tenant_id, t.id) IN (
     SELECT c->>'tenant_id', (coalesce(c->>'pending_transaction_id', c->>'transaction_id'))::uuid
       FROM jsonb_array_elements(p) c WHERE c->>'op' IN ('resolve_pending', 'reverse_transaction'))
   ORDER BY t.id FOR UPDATE;

  PERFORM 1 FROM ledger.accounts a
   WHERE (a.tenant_id, a.id) IN (
     SELECT c->>'tenant_id', (l->>'account_id')::uuid
       FROM jsonb_array_elements(p) c, jsonb_array_elements(c->'legs') l
      WHERE c->>'op' = 'post_transaction' AND l ? 'account_id'
     UNION
     SELECT s.tenant_id, s.id
       FROM jsonb_array_elements(p) c, jsonb_array_elements(c->'legs') l, ledger.accounts s
      WHERE c->>'op' = 'post_transaction' AND l ? 'system_account' AND s.tenant_id = c->>'tenant_id'
        AND s.asset_code = c->>'asset_code' AND s.type = l->>'system_account'
     UNION
     SELECT e.tenant_id, e.account_id
       FROM jsonb_array_elements(p) c, ledger.entries e
      WHERE c->>'op' IN ('resolve_pending', 'reverse_transaction') AND e.tenant_id = c->>'tenant_id'
        AND e.transaction_id = (coalesce(c->>'pending_transaction_id', c->>'transaction_id'))::uuid)
   ORDER BY a.id FOR UPDATE;
  END IF;

  FOR cmd IN SELECT value FROM jsonb_array_elements(p) LOOP
    BEGIN
      result := CASE cmd->>'op'
        WHEN 'post_transaction' THEN ledger.post_transaction(cmd)
        WHEN 'resolve_pending' THEN ledger.resolve_pending(cmd)
        WHEN 'reverse_transaction' THEN ledger.reverse_transaction(cmd)
      END;
      IF result IS NULL THEN
        RAISE EXCEPTION 'unknown batch operation %', cmd->>'op' USING ERRCODE = 'SL004';
      END IF;
      results := results || jsonb_build_object('ok', result);
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT,
                              v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
      results := results || jsonb_build_object('error', jsonb_build_object(
        'code', v_state, 'message', v_message, 'detail', nullif(v_detail, ''), 'hint', nullif(v_hint, '')));
    END;
  END LOOP;
  RETURN to_jsonb(results);
END $$`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP FUNCTION ledger.post_batch(jsonb)');
  }
}
