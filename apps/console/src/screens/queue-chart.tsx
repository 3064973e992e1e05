import type { QueuePoint } from "../types";

const W = 640;
const H = 160;
/** Room for the lines and dots at the edges; the axis labels are HTML beside the plot, not SVG text. */
const PAD = { left: 4, right: 4, top: 8, bottom: 8 };
const MINUTES = 60;

/**
 * Queued and running jobs over the last hour as an inline SVG (no chart library, no external
 * resource). Minutes without a sample break the line rather than being drawn as zero.
 *
 * The SVG keeps its aspect ratio (a stretched viewBox squashed its text and dots on a phone), and
 * the axis labels are HTML around it, so they stay at the page's font size at any width.
 */
export function QueueChart({ points, now = Date.now() }: { points: QueuePoint[]; now?: number }) {
  const end = Math.floor(now / 60_000);
  const byMinute = new Map(points.map((p) => [Math.floor(Date.parse(p.at) / 60_000), p] as const));
  const peak = Math.max(1, ...points.map((p) => p.queued + p.running));
  const x = (minute: number) =>
    PAD.left + ((minute - (end - MINUTES + 1)) / (MINUTES - 1)) * (W - PAD.left - PAD.right);
  const y = (v: number) => PAD.top + (1 - v / peak) * (H - PAD.top - PAD.bottom);
  const percentDown = (v: number) => `${((y(v) / H) * 100).toFixed(2)}%`;

  const lines = (value: (p: QueuePoint) => number) => {
    const segments: string[] = [];
    let current: string[] = [];
    for (let m = end - MINUTES + 1; m <= end; m++) {
      const p = byMinute.get(m);
      if (!p) {
        if (current.length) segments.push(current.join(" "));
        current = [];
        continue;
      }
      current.push(`${x(m).toFixed(1)},${y(value(p)).toFixed(1)}`);
    }
    if (current.length) segments.push(current.join(" "));
    return segments;
  };

  const last = points.at(-1);
  const peakQueued = Math.max(0, ...points.map((p) => p.queued));
  const summary = last
    ? `Queue depth over the last hour: ${last.queued} queued and ${last.running} running at the last sample; at most ${peakQueued} queued.`
    : "Queue depth over the last hour: no samples yet.";

  return (
    <figure class="chart card">
      <div class="chart-area">
        <div class="chart-y" aria-hidden="true">
          {/* In the flow but unseen: gives the column the width of the widest label. */}
          <span class="chart-sizer">{peak}</span>
          <span class="chart-label" style={{ top: percentDown(peak) }}>
            {peak}
          </span>
          <span class="chart-label" style={{ top: percentDown(0) }}>
            0
          </span>
        </div>
        <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={summary}>
          <line x1={PAD.left} x2={W - PAD.right} y1={y(0)} y2={y(0)} stroke="#8a8fa3" stroke-width="1" />
          <line
            x1={PAD.left}
            x2={W - PAD.right}
            y1={y(peak)}
            y2={y(peak)}
            stroke="#d6d8e1"
            stroke-dasharray="3 3"
          />
          {lines((p) => p.queued).map((pts) => (
            <polyline key={`q${pts}`} points={pts} fill="none" stroke="#3b3fb6" stroke-width="2" />
          ))}
          {points.map((p) => {
            const m = Math.floor(Date.parse(p.at) / 60_000);
            if (m <= end - MINUTES) return null;
            return (
              <g key={p.at}>
                <circle cx={x(m)} cy={y(p.queued)} r="2.5" fill="#3b3fb6" />
                <circle cx={x(m)} cy={y(p.running)} r="2.5" fill="#146b3c" />
              </g>
            );
          })}
          {lines((p) => p.running).map((pts) => (
            <polyline key={`r${pts}`} points={pts} fill="none" stroke="#146b3c" stroke-width="2" />
          ))}
        </svg>
        <div class="chart-x" aria-hidden="true">
          <span class="chart-label">60 min ago</span>
          <span class="chart-label">now</span>
        </div>
      </div>
      <figcaption class="legend">
        <span class="swatch queued" aria-hidden="true" /> queued{" "}
        <span class="swatch running" aria-hidden="true" /> running
      </figcaption>
    </figure>
  );
}
