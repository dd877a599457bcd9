import { useEffect } from "react";
import { ApiError } from "../api/client";

/** What the page does with the shim's 401: its `detail` ("token expired", "invalid token")
 * says why, when it says. */
export type OnUnauthorized = (detail?: string | null) => void;

/** Call `onUnauthorized` when any of these failures is the shim's 401. */
export function useUnauthorized(failures: unknown[], onUnauthorized: OnUnauthorized): void {
  const refused = failures.find((failure): failure is ApiError => failure instanceof ApiError && failure.status === 401);
  const detail = refused ? (refused.problem?.detail ?? null) : undefined;
  useEffect(() => {
    if (detail !== undefined) onUnauthorized(detail);
  }, [detail, onUnauthorized]);
}
