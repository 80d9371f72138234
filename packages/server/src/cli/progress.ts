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
