// What a platform's own UI imports: the panel, and the types of its props.
export { ManualTriggerPanel, type ManualTriggerPanelProps } from "./components/ManualTriggerPanel";
export type { Trigger, TriggerType, InvokeResult, ExecutionSummary } from "./api/types";
export type { RunAgain } from "./lib/reproduce";
export { createApi, type ApiConfig } from "./api/client";
