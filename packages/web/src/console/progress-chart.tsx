import type { IncidentProgress } from '@conclave/protocol';
import { useId } from 'react';
import { chartGeometry, cumulativeLine, pathOf, type ChartBox } from './chart-geometry.ts';

const BOX: ChartBox = { width: 640, height: 260, margin: { top: 16, right: 28, bottom: 36, left: 48 } };

interface Props {
  progress: IncidentProgress;
  /** When the response started (the first containment or mailing): the left edge. */
  since: number;
  now: number;
}

/**
 * Resets completed and notices delivered over time, both cumulative, drawn as SVG by hand (no chart library,
 * no inline style: the colours are classes in console.css). A table of the same figures follows for screen
 * readers and for copying.
 */
export const ProgressChart = ({ progress, since, now }: Props) => {
  const titleId = useId();
  const descId = useId();
  const resets = progress.resets.series.map((p) => ({ at: Date.parse(p.at), value: p.completed }));
  const notices = progress.notices.series.map((p) => ({ at: Date.parse(p.at), value: p.delivered }));
  const noticeTotal = progress.notices.queued + progress.notices.sent + progress.notices.failed;
  const start = Math.min(since, ...resets.map((p) => p.at - progress.bucketMs), ...notices.map((p) => p.at - progress.bucketMs));
  const end = Math.max(now, ...resets.map((p) => p.at), ...notices.map((p) => p.at));
  const geometry = chartGeometry(BOX, start, end, Math.max(progress.resets.required, noticeTotal, ...resets.map((p) => p.value), ...notices.map((p) => p.value)));
  const bottom = BOX.height - BOX.margin.bottom;
  const lines = [
    { key: 'notices', label: `Notices delivered: ${progress.notices.sent.toLocaleString('en-US')} of ${noticeTotal.toLocaleString('en-US')}`, points: cumulativeLine(notices, progress.bucketMs, geometry.start, geometry.end), total: noticeTotal },
    { key: 'resets', label: `Resets completed: ${progress.resets.completed.toLocaleString('en-US')} of ${progress.resets.required.toLocaleString('en-US')}`, points: cumulativeLine(resets, progress.bucketMs, geometry.start, geometry.end), total: progress.resets.required },
  ];
  return (
    <figure className="progress-chart">
      <svg viewBox={`0 0 ${BOX.width} ${BOX.height}`} role="img" aria-labelledby={`${titleId} ${descId}`} preserveAspectRatio="xMidYMid meet">
        <title id={titleId}>Resets completed and notices delivered over time</title>
        <desc id={descId}>{lines.map((line) => line.label).join('. ')}.</desc>
        <g className="chart-grid">
          {geometry.yTicks.map((tick) => (
            <g key={`y${tick.label}`}>
              <line x1={BOX.margin.left} x2={BOX.width - BOX.margin.right} y1={tick.position} y2={tick.position} />
              <text x={BOX.margin.left - 6} y={tick.position} dy="0.32em" textAnchor="end">
                {tick.label}
              </text>
            </g>
          ))}
          {geometry.xTicks.map((tick) => (
            <g key={`x${tick.position}`}>
              <line x1={tick.position} x2={tick.position} y1={bottom} y2={bottom + 5} />
              <text x={tick.position} y={bottom + 18} textAnchor="middle">
                {tick.label}
              </text>
            </g>
          ))}
          <line className="chart-axis" x1={BOX.margin.left} x2={BOX.width - BOX.margin.right} y1={bottom} y2={bottom} />
        </g>
        {lines.map((line) =>
          line.total > 0 ? (
            <g key={line.key} className={`chart-series series-${line.key}`}>
              <line className="chart-target" x1={BOX.margin.left} x2={BOX.width - BOX.margin.right} y1={geometry.y(line.total)} y2={geometry.y(line.total)} />
              <path d={pathOf(line.points, geometry)} />
            </g>
          ) : null,
        )}
      </svg>
      <figcaption>
        <ul className="chart-legend">
          {lines.map((line) => (
            <li key={line.key} className={`legend-${line.key}`}>
              <span className="swatch" aria-hidden="true" /> {line.label}
              {line.total > 0 ? <span className="hint"> (dashed: the total)</span> : null}
            </li>
          ))}
        </ul>
      </figcaption>
    </figure>
  );
};
