export interface Leak {
  file: string;
  line: number;
  /** The first characters of the secret, enough to find it in the ledger, not to use it. */
  secretPrefix: string;
}

/** Every place a secret appears verbatim (or JSON-escaped) in the given logs. */
export const findLeaks = (secrets: string[], logs: Array<{ name: string; text: string }>): Leak[] => {
  const needles = secrets.filter((s) => s.length >= 8).flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]);
  const leaks: Leak[] = [];
  for (const log of logs) {
    const lines = log.text.split('\n');
    lines.forEach((text, index) => {
      const hit = needles.find((needle) => text.includes(needle));
      if (hit) leaks.push({ file: log.name, line: index + 1, secretPrefix: hit.slice(0, 4) });
    });
  }
  return leaks;
};
