import { useCallback, useEffect, useState } from "react";

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
  useEffect(() => {
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
    // `load` is a new closure each render; `key` says when it asks for something else.
  }, [key, round]);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}
