import { useId } from 'react';
import { formatMoney, formatTime } from './api';

export interface BalancePoint {
  at: string | null;
  posted: string;
  available: string;
}

const WIDTH = 1000;
const HEIGHT = 240;
const PAD = { left: 8, right: 8, top: 12, bottom: 12 };

/**
 * The wallet's posted balance after each ledger entry, as a step line. Amounts are compared as
 * BigInt and scaled to pixels only at the end. The same figures are in a table for screen readers.
 */
export function BalanceChart({
  points,
  scale,
  currency,
}: {
  points: BalancePoint[];
  scale: number;
  currency: string;
}) {
  const titleId = useId();
  const descId = useId();
  if (points.length === 0) return <p className="muted">No entries yet.</p>;
  const values = points.map((p) => BigInt(p.posted || '0'));
  const times = points.map((p) => (p.at ? Date.parse(p.at) : 0));
  let min = values.reduce((a, b) => (b < a ? b : a));
  let max = values.reduce((a, b) => (b > a ? b : a));
  if (min > 0n) min = 0n;
  if (max === min) max = min + 1n;
  const t0 = times[0]!;
  const t1 = Math.max(times[times.length - 1]!, t0 + 1);
  const x = (t: number) => PAD.left + ((t - t0) / (t1 - t0)) * (WIDTH - PAD.left - PAD.right);
  const y = (v: bigint) =>
    PAD.top + (1 - Number(((v - min) * 10_000n) / (max - min)) / 10_000) * (HEIGHT - PAD.top - PAD.bottom);
  let d = `M ${x(times[0]!)} ${y(values[0]!)}`;
  for (let i = 1; i < points.length; i++) d += ` H ${x(times[i]!)} V ${y(values[i]!)}`;
  const last = values[values.length - 1]!;
  return (
    <figure className="chart">
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-labelledby={`${titleId} ${descId}`}
        data-testid="balance-chart"
      >
        <title id={titleId}>Posted balance over time</title>
        <desc id={descId}>
          {points.length} entries from {formatTime(points[0]!.at)} to{' '}
          {formatTime(points[points.length - 1]!.at)}; now {formatMoney(last.toString(), scale, currency)}.
        </desc>
        <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y(0n)} y2={y(0n)} className="axis" />
        <path d={d} className="line" data-points={points.length} />
        {points.map((p, i) => (
          <circle key={i} cx={x(times[i]!)} cy={y(values[i]!)} r={3} className="dot">
            <title>
              {formatTime(p.at)}: {formatMoney(p.posted, scale, currency)}
            </title>
          </circle>
        ))}
      </svg>
      <figcaption>
        <span>
          {formatTime(points[0]!.at)} → {formatTime(points[points.length - 1]!.at)} · range{' '}
          {formatMoney(min.toString(), scale)} – {formatMoney(max.toString(), scale)} {currency}
        </span>
        <details>
          <summary>Show as a table</summary>
          <table>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Posted</th>
                <th scope="col">Available</th>
              </tr>
            </thead>
            <tbody>
              {points.map((p, i) => (
                <tr key={i}>
                  <td>{formatTime(p.at)}</td>
                  <td className="num">{formatMoney(p.posted, scale)}</td>
                  <td className="num">{formatMoney(p.available, scale)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      </figcaption>
    </figure>
  );
}
