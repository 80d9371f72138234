const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "500ms", "30s", "15m", "12h", "14d" into milliseconds; undefined when it is not such a value. */
export const parseDurationMs = (value: string): number | undefined => {
  const match = /^(\d{1,9})(ms|s|m|h|d)$/.exec(value.trim());
  if (!match) return undefined;
  const amount = Number(match[1]);
  const unit = UNITS_MS[match[2] ?? ''];
  return unit === undefined ? undefined : amount * unit;
};
