/**
 * The progress chart's geometry, apart from React: scales, ticks and the paths of cumulative series. The
 * API gives each series as cumulative counts at the end of each time bucket that saw a change (buckets with
 * none are left out).
 */
export interface CumulativePoint {
  /** The end of the bucket (ms). */
  at: number;
  value: number;
}

export interface ChartBox {
  width: number;
  height: number;
  margin: { top: number; right: number; bottom: number; left: number };
}

export interface Tick {
  position: number;
  label: string;
}

export interface ChartGeometry {
  start: number;
  end: number;
  yMax: number;
  x(at: number): number;
  y(value: number): number;
  xTicks: Tick[];
  yTicks: Tick[];
}

/** 1, 2 or 5 times a power of ten, at least `rough`. */
export const niceStep = (rough: number): number => {
  if (!(rough > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(rough));
  const fraction = rough / power;
  const nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return Math.max(1, nice * power);
};

const TIME_STEPS_MS = [60_000, 5 * 60_000, 15 * 60_000, 30 * 60_000, 3_600_000, 3 * 3_600_000, 6 * 3_600_000, 12 * 3_600_000, 86_400_000, 7 * 86_400_000];

const pad = (n: number): string => String(n).padStart(2, '0');

/** A time tick's label: the hour and minute; the day too when the chart spans more than a day. */
export const timeLabel = (at: number, spanMs: number, utc = false): string => {
  const date = new Date(at);
  const hours = utc ? date.getUTCHours() : date.getHours();
  const minutes = utc ? date.getUTCMinutes() : date.getMinutes();
  const time = `${pad(hours)}:${pad(minutes)}`;
  if (spanMs <= 86_400_000) return time;
  const day = utc ? date.getUTCDate() : date.getDate();
  const month = (utc ? date.getUTCMonth() : date.getMonth()) + 1;
  return spanMs > 7 * 86_400_000 ? `${pad(day)}/${pad(month)}` : `${pad(day)}/${pad(month)} ${time}`;
};

export const chartGeometry = (box: ChartBox, start: number, end: number, maxValue: number, options: { utc?: boolean; ticks?: number } = {}): ChartGeometry => {
  const ticks = options.ticks ?? 5;
  const span = Math.max(end - start, 60_000);
  const stop = start + span;
  const yStep = niceStep(Math.max(maxValue, 1) / (ticks - 1));
  const yMax = Math.max(yStep, Math.ceil(Math.max(maxValue, 1) / yStep) * yStep);
  const plotWidth = box.width - box.margin.left - box.margin.right;
  const plotHeight = box.height - box.margin.top - box.margin.bottom;
  const x = (at: number): number => box.margin.left + ((at - start) / span) * plotWidth;
  const y = (value: number): number => box.margin.top + plotHeight - (value / yMax) * plotHeight;
  const yTicks: Tick[] = [];
  for (let value = 0; value <= yMax; value += yStep) yTicks.push({ position: y(value), label: value.toLocaleString('en-US') });
  const timeStep = TIME_STEPS_MS.find((step) => span / step <= ticks) ?? TIME_STEPS_MS[TIME_STEPS_MS.length - 1]!;
  const xTicks: Tick[] = [];
  for (let at = Math.ceil(start / timeStep) * timeStep; at <= stop; at += timeStep) xTicks.push({ position: x(at), label: timeLabel(at, span, options.utc) });
  return { start, end: stop, yMax, x, y, xTicks, yTicks };
};

/**
 * The points of a cumulative series to draw: from zero at the start, flat until the bucket of each change,
 * rising across that bucket (when in it is unknown), and flat again up to the end.
 */
export const cumulativeLine = (points: readonly CumulativePoint[], bucketMs: number, start: number, end: number): CumulativePoint[] => {
  const line: CumulativePoint[] = [{ at: start, value: 0 }];
  let value = 0;
  for (const point of [...points].sort((a, b) => a.at - b.at)) {
    const bucketStart = Math.max(start, point.at - bucketMs);
    if (bucketStart > line[line.length - 1]!.at) line.push({ at: bucketStart, value });
    value = point.value;
    line.push({ at: Math.max(point.at, start), value });
  }
  if (end > line[line.length - 1]!.at) line.push({ at: end, value });
  return line;
};

/** An SVG path through the points (numbers rounded to 0.1 of a unit). */
export const pathOf = (points: readonly CumulativePoint[], geometry: Pick<ChartGeometry, 'x' | 'y'>): string =>
  points.map((point, i) => `${i === 0 ? 'M' : 'L'}${geometry.x(point.at).toFixed(1)},${geometry.y(point.value).toFixed(1)}`).join(' ');
