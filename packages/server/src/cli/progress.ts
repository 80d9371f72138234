/** A one-line counter on stderr while long work runs (only on a terminal; scripts get the summary alone). */
export const progressLine = (label: string): { update(done: number): void; end(): void } => {
  const live = process.stderr.isTTY === true;
  let shown = false;
  return {
    update(done) {
      if (!live) return;
      shown = true;
      process.stderr.write(`\r${label}: ${done.toLocaleString('en-US')}`);
    },
    end() {
      if (shown) process.stderr.write('\n');
    },
  };
};

/** A bar with a count on stderr while work of a known size runs (only on a terminal). */
export const progressBar = (label: string, width = 30): { update(done: number, total: number): void; end(): void } => {
  const live = process.stderr.isTTY === true;
  let shown = false;
  return {
    update(done, total) {
      if (!live) return;
      shown = true;
      const filled = total === 0 ? width : Math.round((done / total) * width);
      process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')}`);
    },
    end() {
      if (shown) process.stderr.write('\n');
    },
  };
};
