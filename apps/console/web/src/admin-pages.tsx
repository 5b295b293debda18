import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api, formatTime, type Role } from './api';
import { usePageTitle } from './router';
import { ConfirmButton, ErrorNote, Loading, Section } from './ui';

const base = (tenant: string) => `/api/tenants/${encodeURIComponent(tenant)}`;
const ROLES: Role[] = ['viewer', 'operator', 'admin'];

interface User {
  email: string;
  role: Role;
  createdAt: string;
}

export function UsersPage({ tenant, me }: { tenant: string; me: string }) {
  usePageTitle('Users');
  const queryClient = useQueryClient();
  const users = useQuery({
    queryKey: ['users', tenant],
    queryFn: () => api.get<{ users: User[] }>(`${base(tenant)}/users`),
  });
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState('');
  const save = async (body: { email: string; role: Role | 'none'; password?: string }) => {
    setError(null);
    setDone('');
    try {
      const result = await api.post<{ email: string; created: boolean }>(`${base(tenant)}/users`, body);
      setDone(
        body.role === 'none'
          ? `${result.email} no longer has a role on ${tenant}.`
          : `${result.email} is now ${body.role} of ${tenant}${result.created ? ' (new user)' : ''}.`,
      );
      await queryClient.invalidateQueries({ queryKey: ['users', tenant] });
    } catch (e) {
      setError(e);
      throw e;
    }
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    await save({ email, role, ...(password ? { password } : {}) }).then(
      () => {
        setEmail('');
        setPassword('');
      },
      () => undefined,
    );
  };
  return (
    <>
      <h1>Users of {tenant}</h1>
      {done ? (
        <p role="status" className="ok">
          {done}
        </p>
      ) : null}
      <ErrorNote error={error} />
      <Section title="Give someone a role">
        <form onSubmit={submit} className="row">
          <label htmlFor="user-email">E-mail</label>
          <input
            id="user-email"
            type="email"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
          <label htmlFor="user-role">Role</label>
          <select id="user-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
          <label htmlFor="user-password">Initial password (new users)</label>
          <input
            id="user-password"
            type="password"
            autoComplete="new-password"
            minLength={12}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <button type="submit" className="primary">
            Save
          </button>
        </form>
        <p className="muted small">
          viewer reads; operator also voids holds, reverses transactions and replays dead letters; admin also
          manages users and reads the audit log. Every change is in the audit log.
        </p>
      </Section>
      <Section title="Users">
        {users.isPending ? <Loading what="users" /> : null}
        <ErrorNote error={users.error} />
        {users.data ? (
          <table data-testid="users">
            <thead>
              <tr>
                <th scope="col">E-mail</th>
                <th scope="col">Role</th>
                <th scope="col">Since</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {users.data.users.map((u) => (
                <tr key={u.email}>
                  <td>{u.email}</td>
                  <td>{u.role}</td>
                  <td>{formatTime(u.createdAt)}</td>
                  <td>
                    {u.email === me ? (
                      <span className="muted small">you</span>
                    ) : (
                      <ConfirmButton
                        label={`Remove ${u.email}`}
                        title={`Remove ${u.email} from ${tenant}?`}
                        confirmLabel="Remove"
                        body={<p>They can no longer see or change anything of this tenant.</p>}
                        onConfirm={() => save({ email: u.email, role: 'none' })}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </Section>
    </>
  );
}
