import type { components } from "./schema";

type Schemas = components["schemas"];
export type InvokeResult = Schemas["InvokeResult"];
export type Problem = Schemas["ProblemDocument"];
export type FieldError = Schemas["FieldError"];
export type WorkflowSummary = Schemas["WorkflowSummary"];
export type ExecutionSummary = Schemas["ExecutionSummary"];
export type TriggerType = Schemas["TriggerType"];
export type Parameters = Record<string, unknown>;

// The shim declares its trigger list and schema answers as free-form objects, so their
// shape is spelled out here, as worker/shim/app.py (list_triggers) and
// worker/resolvers/__init__.py (describe_trigger) build them.
export interface Trigger {
  id: string;
  type: TriggerType;
  enabled: boolean;
  manual_invocation: boolean;
  manual_invocation_supported: boolean;
  config: Record<string, unknown>;
  /** A name the platform gives the trigger; the panel derives one from its config if absent. */
  name?: string;
}

export interface ParameterExample {
  name: string;
  description?: string;
  parameters: Parameters;
}

export interface TriggerSchema {
  workflow_id: string;
  trigger_id: string;
  trigger_type: TriggerType;
  supported: boolean;
  manual_invocation: boolean;
  description: string;
  parameter_schema: Record<string, unknown>;
  default_parameters: Parameters;
  examples: ParameterExample[];
}

/** What the panel sends: the body of POST .../manual-invoke. */
export interface InvokeBody {
  parameters: Parameters;
  description: string;
  dry_run: boolean;
}
