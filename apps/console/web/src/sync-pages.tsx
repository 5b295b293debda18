import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import {
  api,
  type AuditEntry,
  type ConnectorHealth,
  type DeadLetter,
  type ErpDocument,
  formatTime,
  type Role,
} from './api';
import { Link, usePageTitle } from './router';
import { ConfirmButton, ErrorNote, Loading, Section } from './ui';

const base = (tenant: string) => `/api/tenants/${encodeURIComponent(tenant)}`;
const SYNC_REFRESH_MS = 5_000;

export function SyncPage({ tenant, role }: { tenant: string; role: Role }) {
  usePageTitle('Sync health');
  return (
    <>
      <h1>Sync health</h1>
      <ConnectorsSection tenant={tenant} />
      <DeadLettersSection tenant={tenant} role={role} />
      <DocumentsSection tenant={tenant} />
    </>
  );
}

function ConnectorsSection({ tenant }: { tenant: string }) {
  const health = useQuery({
    queryKey: ['connectors', tenant],
    queryFn: () =>
      api.get<{ connectors: ConnectorHealth[]; workerAnswered: boolean }>(`${base(tenant)}/sync/connectors`),
    refetchInterval: SYNC_REFRESH_MS,
  });
  return (
    <Section title="Connectors">
      <ErrorNote error={health.error} />
      {health.data ? (
        <>
          <table data-testid="connectors">
            <caption className="sr-only">
              Per connector: backlog, last success, errors and limiter (refreshes every 5 s)
            </caption>
            <thead>
              <tr>
                <th scope="col">Connector</th>
                <th scope="col" className="num">
                  Backlog
                </th>
                <th scope="col" className="num">
                  Failed (retrying)
                </th>
                <th scope="col" className="num">
                  Dead
                </th>
                <th scope="col">Last success</th>
                <th scope="col" className="num">
                  Error rate (1 h)
                </th>
                <th scope="col" className="num">
                  Throttled (429, 1 h)
                </th>
                <th scope="col">Limiter (in flight / limit, queued, Retry-After pause)</th>
              </tr>
            </thead>
            <tbody>
              {health.data.connectors.map((c) => (
                <tr key={c.connector}>
                  <th scope="row">{c.connector}</th>
                  <td className="num">{c.backlog}</td>
                  <td className="num">{c.failed}</td>
                  <td className={c.dead > 0 ? 'num warn' : 'num'}>{c.dead}</td>
                  <td>{formatTime(c.lastSuccessAt)}</td>
                  <td className="num">
                    {c.writesLastHour === 0
                      ? '—'
                      : `${Math.round((c.errorsLastHour / c.writesLastHour) * 100)}% of ${c.writesLastHour}`}
                  </td>
                  <td className="num">{c.throttledLastHour}</td>
                  <td>{limiterText(c.limiter)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {!health.data.workerAnswered ? (
            <p className="muted small">erp-sync's /metrics did not answer: limiter figures are not shown.</p>
          ) : null}
        </>
      ) : (
        <Loading what="connectors" />
      )}
    </Section>
  );
}

function limiterText(limiter: ConnectorHealth['limiter']): string {
  if (!limiter || limiter.inFlight === null) return '—';
  const paused = limiter.pausedSeconds ? `, paused ${Math.ceil(limiter.pausedSeconds)} s (Retry-After)` : '';
  return `${limiter.inFlight} / ${limiter.limit ?? '?'}, ${limiter.queued ?? 0} queued${paused}`;
}

function DeadLettersSection({ tenant, role }: { tenant: string; role: Role }) {
  const queryClient = useQueryClient();
  const [connector, setConnector] = useState('');
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [outcome, setOutcome] = useState('');
  const letters = useQuery({
    queryKey: ['dead-letters', tenant, connector],
    queryFn: () =>
      api.get<{ groups: Array<{ reason: string; count: number; records: DeadLetter[] }> }>(
        `${base(tenant)}/sync/dead-letters?connector=${connector}`,
      ),
  });
  const toggle = (ids: string[], on: boolean) => {
    const next = new Set(selected);
    for (const id of ids) {
      if (on) next.add(id);
      else next.delete(id);
    }
    setSelected(next);
  };
  const mayReplay = role === 'operator' || role === 'admin';
  return (
    <Section
      title="Dead letters"
      actions={
        <ConfirmButton
          label={`Replay selected (${selected.size})`}
          title={`Replay ${selected.size} dead record(s)?`}
          confirmLabel="Replay"
          danger={false}
          disabled={!mayReplay || selected.size === 0}
          body={<p>They go back to the queue with fresh attempts; erp-sync sends them again.</p>}
          onConfirm={async () => {
            const result = await api.post<{ replayed: string[]; skipped: string[] }>(
              `${base(tenant)}/sync/dead-letters/replay`,
              {
                ids: [...selected],
              },
            );
            setOutcome(
              `Replayed ${result.replayed.length}` +
                (result.skipped.length
                  ? `; skipped ${result.skipped.length} (no longer dead, or a mapping record: use saldo erp replay)`
                  : '') +
                '.',
            );
            setSelected(new Set());
            await queryClient.invalidateQueries({ queryKey: ['dead-letters', tenant] });
            await queryClient.invalidateQueries({ queryKey: ['connectors', tenant] });
          }}
        />
      }
    >
      <div className="row">
        <label htmlFor="dl-connector">Connector</label>
        <select id="dl-connector" value={connector} onChange={(e) => setConnector(e.target.value)}>
          {['', 'netsuite', 'zendesk', 'activecampaign', 'mapping'].map((c) => (
            <option key={c} value={c}>
              {c || 'any'}
            </option>
          ))}
        </select>
      </div>
      {outcome ? (
        <p role="status" className="ok">
          {outcome}
        </p>
      ) : null}
      <ErrorNote error={letters.error} />
      {letters.data && letters.data.groups.length === 0 ? <p className="muted">No dead letters.</p> : null}
      {letters.data?.groups.map((group) => (
        <details key={group.reason} open className="group">
          <summary>
            {group.reason} <span className="badge">{group.count}</span>
          </summary>
          <table>
            <thead>
              <tr>
                <th scope="col">
                  <input
                    type="checkbox"
                    aria-label={`Select all ${group.count} with reason ${group.reason}`}
                    checked={group.records.every((r) => selected.has(r.id))}
                    onChange={(e) =>
                      toggle(
                        group.records.map((r) => r.id),
                        e.target.checked,
                      )
                    }
                  />
                </th>
                <th scope="col">Record</th>
                <th scope="col">Connector</th>
                <th scope="col">Key</th>
                <th scope="col" className="num">
                  Attempts
                </th>
                <th scope="col">Last error</th>
                <th scope="col">Dead since</th>
              </tr>
            </thead>
            <tbody>
              {group.records.map((r) => (
                <tr key={r.id}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Select record ${r.id}`}
                      checked={selected.has(r.id)}
                      onChange={(e) => toggle([r.id], e.target.checked)}
                    />
                  </td>
                  <td className="mono">{r.id}</td>
                  <td>{r.connector}</td>
                  <td className="mono">{r.recordKey}</td>
                  <td className="num">{r.attempts}</td>
                  <td>{r.lastError ?? '—'}</td>
                  <td>{formatTime(r.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      ))}
    </Section>
  );
}

function DocumentsSection({ tenant }: { tenant: string }) {
  const documents = useQuery({
    queryKey: ['documents', tenant],
    queryFn: () => api.get<{ documents: ErpDocument[] }>(`${base(tenant)}/sync/documents`),
    refetchInterval: SYNC_REFRESH_MS,
  });
  return (
    <Section title="ERP documents waiting for confirmation">
      <ErrorNote error={documents.error} />
      {documents.data && documents.data.documents.length === 0 ? (
        <p className="muted">None waiting.</p>
      ) : null}
      {documents.data && documents.data.documents.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Document</th>
              <th scope="col">Type</th>
              <th scope="col">State</th>
              <th scope="col">ERP status</th>
              <th scope="col" className="num">
                Polls
              </th>
              <th scope="col">Top-up</th>
              <th scope="col">Since</th>
            </tr>
          </thead>
          <tbody>
            {documents.data.documents.map((d) => (
              <tr key={d.documentId} className={d.state === 'rejected_unrecoverable' ? 'warn' : ''}>
                <td className="mono">{d.documentId}</td>
                <td>{d.documentType}</td>
                <td>
                  {d.state === 'rejected_unrecoverable'
                    ? 'rejected, not reversible: settle with the customer'
                    : d.state}
                </td>
                <td>{d.erpStatus ?? '—'}</td>
                <td className="num">{d.polls}</td>
                <td>
                  <Link
                    href={`/t/${encodeURIComponent(tenant)}/transactions/${d.transactionId}`}
                    className="mono"
                  >
                    {d.transactionId.slice(0, 8)}
                  </Link>
                </td>
                <td>{formatTime(d.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Section>
  );
}

export function AuditPage({ tenant }: { tenant: string }) {
  usePageTitle('Audit log');
  const audit = useQuery({
    queryKey: ['audit', tenant],
    queryFn: () => api.get<{ entries: AuditEntry[] }>(`${base(tenant)}/audit`),
  });
  return (
    <>
      <h1>Audit log</h1>
      <ErrorNote error={audit.error} />
      {audit.isPending ? <Loading what="the audit log" /> : null}
      {audit.data ? (
        <table data-testid="audit">
          <caption>Every change made through the Console for tenant {tenant}, newest first (100)</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">User</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Outcome</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {audit.data.entries.map((e) => (
              <tr key={e.id}>
                <td>{formatTime(e.at)}</td>
                <td>{e.userEmail}</td>
                <td>{e.action}</td>
                <td className="mono">{e.target || '—'}</td>
                <td>{e.outcome}</td>
                <td className="mono small">{JSON.stringify(e.detail)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}
