import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { api, ApiError, type Session, setCsrfToken } from './api';
import { UsersPage } from './admin-pages';
import { TransactionPage, WalletPage, WalletSearchPage } from './ledger-pages';
import { Link, match, navigate, useLocation, usePageTitle } from './router';
import { AuditPage, SyncPage } from './sync-pages';
import { ErrorNote, Loading } from './ui';

function useSession() {
  return useQuery({
    queryKey: ['session'],
    queryFn: async () => {
      try {
        const session = await api.get<Session>('/api/session');
        setCsrfToken(session.csrfToken);
        return session;
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return null;
        throw error;
      }
    },
    staleTime: 60_000,
  });
}

function SignIn() {
  usePageTitle('Sign in');
  const queryClient = useQueryClient();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = await api.post<Session>('/api/session', { email, password });
      setCsrfToken(session.csrfToken);
      queryClient.setQueryData(['session'], session);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" className="signin">
      <h1>Saldo Console</h1>
      <form onSubmit={submit} className="card stack" aria-describedby="signin-help">
        <p id="signin-help" className="muted">
          Sign in with your operator account.
        </p>
        <label htmlFor="email">E-mail</label>
        <input
          id="email"
          type="email"
          autoComplete="username"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <label htmlFor="password">Password</label>
        <input
          id="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <ErrorNote error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

function NotFound() {
  usePageTitle('Not found');
  return (
    <>
      <h1>Nothing here</h1>
      <p>
        <Link href="/">Back to the start</Link>
      </p>
    </>
  );
}

function Shell({ session }: { session: Session }) {
  const queryClient = useQueryClient();
  const { path, search } = useLocation();
  const first = session.tenants[0]?.tenantId;
  const tenantMatch = /^\/t\/([^/]+)/.exec(path)?.[1];
  const tenantParam = tenantMatch ? decodeURIComponent(tenantMatch) : undefined;
  const tenant = tenantParam ?? first ?? '';
  const role = session.tenants.find((t) => t.tenantId === tenant)?.role;
  useEffect(() => {
    if ((path === '/' || path === '') && first) navigate(`/t/${encodeURIComponent(first)}/wallets`, true);
  }, [path, first]);
  const signOut = async () => {
    await api.post('/api/session/end').catch(() => undefined);
    queryClient.setQueryData(['session'], null);
    queryClient.removeQueries({ predicate: (q) => q.queryKey[0] !== 'session' });
    navigate('/', true);
  };
  const t = encodeURIComponent(tenant);
  let page;
  let params: Record<string, string> | null;
  if (!role) page = <p>You have no role on tenant {tenant}.</p>;
  else if ((params = match('/t/:tenant/wallets', path)))
    page = <WalletSearchPage tenant={tenant} query={search.get('q') ?? ''} key={search.get('q') ?? ''} />;
  else if ((params = match('/t/:tenant/wallets/:id', path)))
    page = <WalletPage tenant={tenant} walletId={params['id']!} role={role} key={params['id']} />;
  else if ((params = match('/t/:tenant/transactions/:id', path)))
    page = <TransactionPage tenant={tenant} transactionId={params['id']!} role={role} key={params['id']} />;
  else if (match('/t/:tenant/sync', path)) page = <SyncPage tenant={tenant} role={role} />;
  else if (match('/t/:tenant/audit', path)) page = <AuditPage tenant={tenant} />;
  else if (match('/t/:tenant/users', path)) page = <UsersPage tenant={tenant} me={session.email} />;
  else page = <NotFound />;
  const current = (href: string) => (path.startsWith(href) ? 'page' : undefined);
  return (
    <>
      <a href="#main" className="skip">
        Skip to content
      </a>
      <header className="top">
        <nav aria-label="Main">
          <span className="brand">Saldo Console</span>
          <Link href={`/t/${t}/wallets`} aria-current={current(`/t/${t}/wallets`)}>
            Wallets
          </Link>
          <Link href={`/t/${t}/sync`} aria-current={current(`/t/${t}/sync`)}>
            Sync
          </Link>
          {role === 'admin' ? (
            <Link href={`/t/${t}/audit`} aria-current={current(`/t/${t}/audit`)}>
              Audit log
            </Link>
          ) : null}
          {role === 'admin' ? (
            <Link href={`/t/${t}/users`} aria-current={current(`/t/${t}/users`)}>
              Users
            </Link>
          ) : null}
        </nav>
        <div className="row">
          <label htmlFor="tenant">Tenant</label>
          <select
            id="tenant"
            value={tenant}
            onChange={(e) => navigate(`/t/${encodeURIComponent(e.target.value)}/wallets`)}
          >
            {session.tenants.map((x) => (
              <option key={x.tenantId} value={x.tenantId}>
                {x.tenantId} ({x.role})
              </option>
            ))}
          </select>
          <span className="muted small" data-testid="whoami">
            {session.email} · {role ?? 'no role'}
          </span>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}

export function App() {
  const session = useSession();
  if (session.isPending)
    return (
      <main id="main">
        <Loading what="the Console" />
      </main>
    );
  if (session.error)
    return (
      <main id="main">
        <h1>Saldo Console</h1>
        <ErrorNote error={session.error} />
      </main>
    );
  return session.data ? <Shell session={session.data} /> : <SignIn />;
}
