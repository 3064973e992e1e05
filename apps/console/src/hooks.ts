import { useEffect, useState } from "preact/hooks";

/** The current time, re-rendering every `ms` (elapsed-time displays). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

/** Runs `load` now and every `ms` while the component is shown; errors go to the returned message. */
export function usePolling(load: () => Promise<void>, ms: number, deps: unknown[] = []): string {
  const [error, setError] = useState("");
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    const tick = async () => {
      try {
        await load();
        if (!stopped) setError("");
      } catch (err) {
        if (!stopped) setError((err as Error).message);
      }
      if (!stopped) timer = setTimeout(tick, ms);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
    // Callers pass in `deps` what `load` depends on.
  }, deps);
  return error;
}
