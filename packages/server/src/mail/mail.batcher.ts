/**
 * Group commit for the delivery worker: calls made while a flush is running (or in the same turn of the event
 * loop) are handed to `run` together, one statement or transaction for all of them. An idle worker adds no
 * delay (a lone call is flushed at the next turn); a busy one writes tens of claims or outcomes per commit
 * instead of one each, which is what lets a node deliver hundreds of mails a second on SQLite's single
 * connection and with few PostgreSQL round trips.
 */
export const createBatcher = <I, O>(run: (items: I[]) => Promise<O[]>, maxItems = 200): ((item: I) => Promise<O>) => {
  let pending: Array<{ item: I; resolve: (value: O) => void; reject: (error: unknown) => void }> = [];
  let flushing = false;

  const flush = async (): Promise<void> => {
    flushing = true;
    while (pending.length > 0) {
      const group = pending.slice(0, maxItems);
      pending = pending.slice(group.length);
      try {
        const results = await run(group.map((p) => p.item));
        group.forEach((p, i) => p.resolve(results[i] as O));
      } catch (error) {
        for (const p of group) p.reject(error);
      }
    }
    flushing = false;
  };

  return (item) =>
    new Promise<O>((resolve, reject) => {
      pending.push({ item, resolve, reject });
      if (!flushing) {
        flushing = true;
        setImmediate(() => void flush());
      }
    });
};
