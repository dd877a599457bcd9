import type { components, paths } from "./schema";

// Every shape the panel reads or sends is the shim's own, generated from its OpenAPI
// document (`make ui-types`); these are only shorter names for them.
type Schemas = components["schemas"];
export type InvokeResult = Schemas["InvokeResult"];
/** The HTTP answer to an invocation: an `InvokeResult` with its `wire_preview`. */
export type InvokeAnswer = Schemas["InvokeAnswer"];
export type WirePreview = Schemas["WirePreview"];
export type Problem = Schemas["ProblemDocument"];
export type FieldError = Schemas["FieldError"];
export type WorkflowSummary = Schemas["WorkflowSummary"];
export type ExecutionSummary = Schemas["ExecutionSummary"];
export type ExecutionRecord = Schemas["ExecutionRecord"];
export type ExecutionStatus = Schemas["ExecutionStatus"];
export type ExecutionFailure = Schemas["ExecutionFailure"];
export type TriggerType = Schemas["TriggerType"];
export type Trigger = Schemas["TriggerSummary"];
export type TriggerSchema = Schemas["TriggerDescription"];
export type ParameterExample = Schemas["ParameterExample"];
type InvokeOperation = paths["/api/v1/workflows/{workflow_id}/triggers/{trigger_id}/manual-invoke"]["post"];
/** What the panel sends: the body of POST .../manual-invoke, every field spelled out. */
export type InvokeBody = Required<InvokeOperation["requestBody"]["content"]["application/json"]>;
export type Parameters = Record<string, unknown>;
