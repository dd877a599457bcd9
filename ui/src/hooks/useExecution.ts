import { useCallback, useEffect, useState } from "react";
import type { Api } from "../api/client";
import type { StreamPhase } from "../api/executionStream";
import type { ExecutionRecord } from "../api/types";

export interface ExecutionState {
  record: ExecutionRecord | null;
  /** Where the live stream stands; "stopped" once it gave up (see `error`). */
  phase: StreamPhase | "stopped";
  error: unknown;
  /** Follow it again (after it gave up). */
  retry: () => void;
}

/** An execution as it goes: its live status stream, from the first record to a final one. */
export function useExecution(api: Api, executionId: string): ExecutionState {
  const [state, setState] = useState<Omit<ExecutionState, "retry"> & { of: string }>({
    record: null,
    phase: "connecting",
    error: null,
    of: executionId,
  });
  const [round, setRound] = useState(0);
  const retry = useCallback(() => setRound((n) => n + 1), []);

  useEffect(() => {
    const controller = new AbortController();
    const signal = controller.signal;
    setState((previous) => ({
      record: previous.of === executionId ? previous.record : null,
      phase: "connecting",
      error: null,
      of: executionId,
    }));
    api
      .followExecution(executionId, {
        signal,
        onRecord: (record) => !signal.aborted && setState((previous) => ({ ...previous, record })),
        onPhase: (phase) => !signal.aborted && setState((previous) => ({ ...previous, phase })),
      })
      .catch((error: unknown) => {
        if (!signal.aborted) setState((previous) => ({ ...previous, phase: "stopped", error }));
      });
    return () => controller.abort();
  }, [api, executionId, round]);

  const current = state.of === executionId ? state : { record: null, phase: "connecting" as const, error: null };
  return { record: current.record, phase: current.phase, error: current.error, retry };
}
