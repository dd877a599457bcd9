import { useCallback, useEffect, useEffectEvent, useState } from "react";

export interface AsyncState<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Run `load` whenever `key` changes (null: nothing to load); the latest answer wins. */
export function useAsync<T>(load: (() => Promise<T>) | null, key: string | null): AsyncState<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({
    loading: load !== null,
  });
  const [round, setRound] = useState(0);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  // `load` is a new closure each render; `key` (and `reload`) say when it asks for something
  // else, and the effect then runs the latest one.
  const latest = useEffectEvent(() => load);
  useEffect(() => {
    const load = latest();
    if (load === null) {
      setState({ loading: false });
      return;
    }
    let current = true;
    setState((previous) => ({ data: previous.data, loading: true }));
    load().then(
      (data) => current && setState({ data, loading: false }),
      (error: unknown) => current && setState({ error, loading: false }),
    );
    return () => {
      current = false;
    };
  }, [key, round]);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}
