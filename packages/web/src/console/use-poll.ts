import { useEffect, useRef, useState } from 'react';

/**
 * Calls `load` now and then every `intervalMs` while `active`, one call at a time (the next waits for the
 * previous answer), and stops when the component goes away.
 */
export const usePoll = (load: () => Promise<unknown>, intervalMs: number, active: boolean): void => {
  const latest = useRef(load);
  latest.current = load;
  useEffect(() => {
    if (!active) return;
    let stopped = false;
    let timer: number | undefined;
    const tick = async () => {
      try {
        await latest.current();
      } catch {
        // The caller shows its own errors; polling goes on (a blip of the network is not the end).
      }
      if (!stopped) timer = window.setTimeout(() => void tick(), intervalMs);
    };
    void tick();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [active, intervalMs]);
};

/** The current time, refreshed every `everyMs` (the 72-hour clock). */
export const useNow = (everyMs = 30_000): number => {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), everyMs);
    return () => window.clearInterval(timer);
  }, [everyMs]);
  return now;
};
