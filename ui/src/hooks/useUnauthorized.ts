import { useEffect } from "react";
import { ApiError } from "../api/client";

/** Call `onUnauthorized` when any of these failures is the shim's 401. */
export function useUnauthorized(failures: unknown[], onUnauthorized: () => void): void {
  const refused = failures.some((failure) => failure instanceof ApiError && failure.status === 401);
  useEffect(() => {
    if (refused) onUnauthorized();
  }, [refused, onUnauthorized]);
}
