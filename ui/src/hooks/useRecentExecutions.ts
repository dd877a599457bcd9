import { useCallback, useEffect, useState } from "react";
import type { Api } from "../api/client";
import { useAsync } from "./useAsync";

const LIMIT = 10;

/** The trigger's latest executions, real and manual, refreshed on demand; `expect(id)`
 * refreshes them until an accepted execution shows up (the scheduler records it moments
 * after the answer; after ~15 s the list gives up, the link still works). */
export function useRecentExecutions(api: Api, workflowId: string, triggerId: string | null) {
  const [version, setVersion] = useState(0);
  const [awaited, setAwaited] = useState<{ executionId: string; polls: number } | null>(null);
  const runs = useAsync(
    triggerId ? async () => (await api.executions(workflowId, { trigger_id: triggerId, limit: LIMIT })).executions : null,
    triggerId ? `${workflowId}/${triggerId}/${version}` : null,
  );

  useEffect(() => {
    if (!awaited || runs.loading) return;
    if (runs.data?.some((run) => run.execution_id === awaited.executionId) || awaited.polls >= 20) {
      setAwaited(null);
      return;
    }
    const timer = setTimeout(() => {
      setAwaited({ ...awaited, polls: awaited.polls + 1 });
      setVersion((n) => n + 1);
    }, 750);
    return () => clearTimeout(timer);
  }, [awaited, runs.data, runs.loading]);

  const refresh = useCallback(() => setVersion((n) => n + 1), []);
  const expect = useCallback((executionId: string) => setAwaited({ executionId, polls: 0 }), []);
  return { runs, refresh, expect };
}
