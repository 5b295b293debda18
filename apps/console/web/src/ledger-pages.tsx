import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import {
  api,
  formatMoney,
  formatTime,
  type LedgerEntry,
  newIdempotencyKey,
  type Role,
  type Transaction,
  type Wallet,
  type WalletHit,
} from './api';
import { type BalancePoint, BalanceChart } from './chart';
import { Link, navigate, usePageTitle } from './router';
import { ConfirmButton, ErrorNote, Field, Loading, Section } from './ui';

/** How often a wallet's balance and latest transactions are fetched again while its page is open. */
export const LIVE_INTERVAL_MS = 2_000;

const base = (tenant: string) => `/api/tenants/${encodeURIComponent(tenant)}`;
const canAct = (role: Role) => role === 'operator' || role === 'admin';

export function WalletSearchPage({ tenant, query }: { tenant: string; query: string }) {
  usePageTitle('Find wallets');
  const [text, setText] = useState(query);
  const result = useQuery({
    queryKey: ['wallets', tenant, query],
    queryFn: () =>
      api.get<{ wallets: WalletHit[] }>(`${base(tenant)}/wallets?q=${encodeURIComponent(query)}`),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    navigate(`/t/${encodeURIComponent(tenant)}/wallets?q=${encodeURIComponent(text)}`);
  };
  return (
    <>
      <h1>Find wallets</h1>
      <form role="search" onSubmit={submit} className="row">
        <label htmlFor="wallet-query">Owner, reference or wallet id</label>
        <input id="wallet-query" value={text} onChange={(e) => setText(e.target.value)} autoComplete="off" />
        <button type="submit" className="primary">
          Search
        </button>
      </form>
      <ErrorNote error={result.error} />
      {result.isPending ? (
        <Loading what="wallets" />
      ) : (
        <table>
          <caption>{result.data?.wallets.length ?? 0} wallets (newest first, at most 50)</caption>
          <thead>
            <tr>
              <th scope="col">Owner</th>
              <th scope="col">Type</th>
              <th scope="col">Role</th>
              <th scope="col">Currency</th>
              <th scope="col">Wallet id</th>
              <th scope="col">Opened</th>
            </tr>
          </thead>
          <tbody>
            {result.data?.wallets.map((w) => (
              <tr key={w.walletId}>
                <td>
                  <Link href={`/t/${encodeURIComponent(tenant)}/wallets/${w.walletId}`}>{w.ownerId}</Link>
                </td>
                <td>{w.ownerType}</td>
                <td>{w.role}</td>
                <td>{w.currency}</td>
                <td className="mono">{w.walletId}</td>
                <td>{formatTime(w.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

const TYPES = ['', 'TOP_UP', 'USAGE', 'TRANSFER', 'RESERVE', 'CAPTURE', 'VOID', 'REVERSAL'];
const STATUSES = ['', 'PENDING', 'POSTED', 'VOIDED', 'REVERSED'];

export function WalletPage({ tenant, walletId, role }: { tenant: string; walletId: string; role: Role }) {
  const wallet = useQuery({
    queryKey: ['wallet', tenant, walletId],
    queryFn: () => api.get<Wallet>(`${base(tenant)}/wallets/${walletId}`),
    refetchInterval: LIVE_INTERVAL_MS,
  });
  usePageTitle(wallet.data ? `Wallet of ${wallet.data.ownerId}` : 'Wallet');
  const w = wallet.data;
  const version = w?.version ?? '';
  const history = useQuery({
    queryKey: ['balance-history', tenant, walletId, version],
    queryFn: () =>
      api.get<{ points: BalancePoint[]; complete: boolean }>(
        `${base(tenant)}/wallets/${walletId}/balance-history`,
      ),
    enabled: Boolean(w),
    placeholderData: keepPreviousData,
  });
  if (wallet.isPending) return <Loading what="the wallet" />;
  if (!w) return <ErrorNote error={wallet.error} />;
  const money = (minor: string) => formatMoney(minor, w.currencyScale, w.currency);
  return (
    <>
      <h1>
        Wallet of {w.ownerId}{' '}
        <span className="muted small">
          ({w.ownerType.toLowerCase()}, {w.role.replace('WALLET_ROLE_', '').toLowerCase()})
        </span>
      </h1>
      <ErrorNote error={wallet.error} />
      <Section title="Balances">
        <dl className="grid" aria-live="polite" data-testid="balances">
          <Field label="Posted">
            <span data-testid="posted-balance">{money(w.postedBalance)}</span>
          </Field>
          <Field label="Available">
            <span data-testid="available-balance">{money(w.availableBalance)}</span>
          </Field>
          <Field label="Pending (held)">{money(w.pendingDebits)}</Field>
          <Field label="Confirmed">{money(w.confirmedBalance)}</Field>
          <Field label="Shadow (ERP unconfirmed)">{money(w.shadowBalance)}</Field>
          <Field label="Overdraft limit">{money(w.overdraftLimit || '0')}</Field>
          {w.spendLimit ? <Field label="Spend limit">{money(w.spendLimit)}</Field> : null}
          {w.periodSpent ? <Field label="Spent this period">{money(w.periodSpent)}</Field> : null}
        </dl>
        <p className="muted small">
          Wallet <span className="mono">{w.walletId}</span> · version {w.version} · opened{' '}
          {formatTime(w.createdAt)} · updates live
          {w.parentWalletId ? (
            <>
              {' '}
              · parent{' '}
              <Link href={`/t/${encodeURIComponent(tenant)}/wallets/${w.parentWalletId}`}>
                {w.parentWalletId}
              </Link>
            </>
          ) : null}
        </p>
      </Section>
      <Section title="Balance over time">
        <ErrorNote error={history.error} />
        {history.data ? (
          <BalanceChart points={history.data.points} scale={w.currencyScale} currency={w.currency} />
        ) : (
          <Loading what="the chart" />
        )}
      </Section>
      <TransactionsSection tenant={tenant} wallet={w} />
      <HoldsSection tenant={tenant} wallet={w} role={role} />
      {w.ownerType === 'ENTERPRISE' || w.ownerType === 'RESELLER' ? (
        <ChildrenSection tenant={tenant} wallet={w} />
      ) : null}
    </>
  );
}

function TransactionsSection({ tenant, wallet }: { tenant: string; wallet: Wallet }) {
  const [tokens, setTokens] = useState<string[]>(['']);
  const [type, setType] = useState('');
  const [status, setStatus] = useState('');
  const pageToken = tokens[tokens.length - 1]!;
  const page = useQuery({
    queryKey: ['transactions', tenant, wallet.walletId, pageToken, type, status, wallet.version],
    queryFn: () =>
      api.get<{ transactions: Transaction[]; nextPageToken: string }>(
        `${base(tenant)}/wallets/${wallet.walletId}/transactions?pageSize=20&pageToken=${encodeURIComponent(pageToken)}&type=${type}&status=${status}`,
      ),
    placeholderData: keepPreviousData,
  });
  const money = (minor: string) => formatMoney(minor, wallet.currencyScale);
  return (
    <Section title="Transactions">
      <div className="row">
        <label htmlFor="tx-type">Type</label>
        <select id="tx-type" value={type} onChange={(e) => setType(e.target.value)}>
          {TYPES.map((t) => (
            <option key={t} value={t}>
              {t || 'any'}
            </option>
          ))}
        </select>
        <label htmlFor="tx-status">Status</label>
        <select id="tx-status" value={status} onChange={(e) => setStatus(e.target.value)}>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s || 'any'}
            </option>
          ))}
        </select>
      </div>
      <ErrorNote error={page.error} />
      <table data-testid="transactions">
        <caption className="sr-only">
          Transactions of this wallet, newest first (page {tokens.length})
        </caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Type</th>
            <th scope="col">Status</th>
            <th scope="col" className="num">
              Amount ({wallet.currency})
            </th>
            <th scope="col">Reference / product</th>
            <th scope="col">Transaction</th>
          </tr>
        </thead>
        <tbody>
          {page.data?.transactions.map((t) => (
            <tr key={t.transactionId}>
              <td>{formatTime(t.createdAt)}</td>
              <td>{t.type}</td>
              <td>{t.status}</td>
              <td className="num">{money(t.amount)}</td>
              <td>{t.reference || t.productCode || '—'}</td>
              <td>
                <Link
                  href={`/t/${encodeURIComponent(tenant)}/transactions/${t.transactionId}`}
                  className="mono"
                >
                  {t.transactionId.slice(0, 8)}
                </Link>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="row">
        <button type="button" disabled={tokens.length === 1} onClick={() => setTokens(tokens.slice(0, -1))}>
          Newer
        </button>
        <span className="muted">Page {tokens.length}</span>
        <button
          type="button"
          disabled={!page.data?.nextPageToken}
          onClick={() => page.data?.nextPageToken && setTokens([...tokens, page.data.nextPageToken])}
        >
          Older
        </button>
      </div>
    </Section>
  );
}

function HoldsSection({ tenant, wallet, role }: { tenant: string; wallet: Wallet; role: Role }) {
  const queryClient = useQueryClient();
  const holds = useQuery({
    queryKey: ['holds', tenant, wallet.walletId, wallet.version],
    queryFn: () => api.get<{ holds: Transaction[] }>(`${base(tenant)}/wallets/${wallet.walletId}/holds`),
    placeholderData: keepPreviousData,
  });
  return (
    <Section title="Open holds">
      <ErrorNote error={holds.error} />
      {holds.data && holds.data.holds.length === 0 ? <p className="muted">No open holds.</p> : null}
      {holds.data && holds.data.holds.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Held since</th>
              <th scope="col" className="num">
                Amount ({wallet.currency})
              </th>
              <th scope="col">Expires</th>
              <th scope="col">Product</th>
              <th scope="col">Action</th>
            </tr>
          </thead>
          <tbody>
            {holds.data.holds.map((h) => (
              <tr key={h.transactionId}>
                <td>
                  <Link href={`/t/${encodeURIComponent(tenant)}/transactions/${h.transactionId}`}>
                    {formatTime(h.createdAt)}
                  </Link>
                </td>
                <td className="num">{formatMoney(h.amount, wallet.currencyScale)}</td>
                <td>{h.expiresAt ? formatTime(h.expiresAt) : 'never'}</td>
                <td>{h.productCode || '—'}</td>
                <td>
                  <VoidButton
                    tenant={tenant}
                    transaction={h}
                    disabled={!canAct(role)}
                    onDone={() =>
                      queryClient.invalidateQueries({ queryKey: ['wallet', tenant, wallet.walletId] })
                    }
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Section>
  );
}

function ChildrenSection({ tenant, wallet }: { tenant: string; wallet: Wallet }) {
  const children = useQuery({
    queryKey: ['children', tenant, wallet.walletId],
    queryFn: () => api.get<{ wallets: Wallet[] }>(`${base(tenant)}/wallets/${wallet.walletId}/children`),
  });
  return (
    <Section title={wallet.ownerType === 'ENTERPRISE' ? 'Members' : 'Clients'}>
      <ErrorNote error={children.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">Owner</th>
            <th scope="col" className="num">
              Available
            </th>
            <th scope="col" className="num">
              Spent this period
            </th>
            <th scope="col" className="num">
              Spend limit
            </th>
          </tr>
        </thead>
        <tbody>
          {children.data?.wallets.map((c) => (
            <tr key={c.walletId}>
              <td>
                <Link href={`/t/${encodeURIComponent(tenant)}/wallets/${c.walletId}`}>{c.ownerId}</Link>
              </td>
              <td className="num">{formatMoney(c.availableBalance, c.currencyScale)}</td>
              <td className="num">{formatMoney(c.periodSpent || '0', c.currencyScale)}</td>
              <td className="num">{c.spendLimit ? formatMoney(c.spendLimit, c.currencyScale) : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

function VoidButton({
  tenant,
  transaction,
  disabled,
  onDone,
}: {
  tenant: string;
  transaction: Transaction;
  disabled: boolean;
  onDone: (result: Transaction) => void;
}) {
  // One key per opening of the dialog: a retry after a lost answer replays the same result.
  const [key, setKey] = useState(newIdempotencyKey);
  const hold = transaction.type === 'RESERVE';
  return (
    <ConfirmButton
      label={hold ? 'Void hold' : 'Reverse'}
      title={hold ? 'Void this hold?' : 'Reverse this transaction?'}
      confirmLabel={hold ? 'Void the hold' : 'Reverse it'}
      disabled={disabled}
      body={
        <p>
          {hold
            ? 'The held amount is released to the wallet at once. This cannot be undone.'
            : 'A new, linked reversal transaction undoes its effect on every account. This cannot be undone.'}{' '}
          Transaction <span className="mono">{transaction.transactionId}</span>.
        </p>
      }
      onConfirm={async () => {
        const result = await api.post<Transaction>(
          `${base(tenant)}/transactions/${transaction.transactionId}/void`,
          {
            idempotencyKey: key,
          },
        );
        setKey(newIdempotencyKey());
        onDone(result);
      }}
    />
  );
}

export function TransactionPage({
  tenant,
  transactionId,
  role,
}: {
  tenant: string;
  transactionId: string;
  role: Role;
}) {
  usePageTitle('Transaction');
  const queryClient = useQueryClient();
  const detail = useQuery({
    queryKey: ['transaction', tenant, transactionId],
    queryFn: () =>
      api.get<{ transaction: Transaction; entries: LedgerEntry[] | null }>(
        `${base(tenant)}/transactions/${transactionId}`,
      ),
  });
  if (detail.isPending) return <Loading what="the transaction" />;
  if (!detail.data) return <ErrorNote error={detail.error} />;
  const t = detail.data.transaction;
  const t_ = (id: string) => (
    <Link href={`/t/${encodeURIComponent(tenant)}/transactions/${id}`} className="mono">
      {id}
    </Link>
  );
  const reversible =
    (t.status === 'POSTED' && t.type !== 'REVERSAL' && t.type !== 'VOID') ||
    (t.type === 'RESERVE' && t.status === 'PENDING');
  return (
    <>
      <h1>
        {t.type} <span className="muted small">{t.status}</span>
      </h1>
      <Section
        title="Transaction"
        actions={
          reversible ? (
            <VoidButton
              tenant={tenant}
              transaction={t}
              disabled={!canAct(role)}
              onDone={() =>
                queryClient.invalidateQueries({ queryKey: ['transaction', tenant, transactionId] })
              }
            />
          ) : null
        }
      >
        {!canAct(role) && reversible ? (
          <p className="muted small">Your role ({role}) may look, not act.</p>
        ) : null}
        <dl className="grid">
          <Field label="Amount">{`${t.amount} minor units of ${t.currency}`}</Field>
          <Field label="Status">
            <span data-testid="transaction-status">{t.status}</span>
          </Field>
          <Field label="Time">{formatTime(t.createdAt)}</Field>
          <Field label="Wallet">
            <Link href={`/t/${encodeURIComponent(tenant)}/wallets/${t.walletId}`} className="mono">
              {t.walletId}
            </Link>
          </Field>
          {t.counterpartyWalletId ? <Field label="Counterparty">{t.counterpartyWalletId}</Field> : null}
          {t.productCode ? <Field label="Product">{t.productCode}</Field> : null}
          {t.costAmount ? <Field label="Vendor cost">{t.costAmount}</Field> : null}
          {t.reference ? <Field label="Reference">{t.reference}</Field> : null}
          {t.relatedTransactionId ? <Field label="Related">{t_(t.relatedTransactionId)}</Field> : null}
          {t.resolvedByTransactionId ? (
            <Field label="Resolved by">{t_(t.resolvedByTransactionId)}</Field>
          ) : null}
          {t.expiresAt ? <Field label="Expires">{formatTime(t.expiresAt)}</Field> : null}
          <Field label="Idempotency key">
            <span className="mono">{t.idempotencyKey || '—'}</span>
          </Field>
          <Field label="Id">
            <span className="mono">{t.transactionId}</span>
          </Field>
        </dl>
      </Section>
      <Section title="Ledger entries">
        {detail.data.entries === null ? (
          <p className="muted">The Console has no ledger access configured (LEDGER_SERVICE_TOKEN).</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Account</th>
                <th scope="col">Side</th>
                <th scope="col">Phase</th>
                <th scope="col" className="num">
                  Amount
                </th>
                <th scope="col" className="num">
                  Posted balance after
                </th>
              </tr>
            </thead>
            <tbody>
              {detail.data.entries.map((e) => (
                <tr key={e.entryId}>
                  <td className="mono">{e.accountId}</td>
                  <td>{e.side}</td>
                  <td>{e.phase}</td>
                  <td className="num">{e.amount}</td>
                  <td className="num">{e.postedBalanceAfter || '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}
