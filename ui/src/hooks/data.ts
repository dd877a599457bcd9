import type { Api } from "../api/client";
import { useAsync } from "./useAsync";

export const useWorkflows = (api: Api, enabled: boolean) =>
  useAsync(enabled ? () => api.workflows() : null, enabled ? "workflows" : null);

export const useTriggers = (api: Api, workflowId: string | null) =>
  useAsync(workflowId ? () => api.triggers(workflowId) : null, workflowId);

export const useTriggerSchema = (api: Api, workflowId: string, triggerId: string | null) =>
  useAsync(
    triggerId ? () => api.schema(workflowId, triggerId) : null,
    triggerId ? `${workflowId}/${triggerId}` : null,
  );
