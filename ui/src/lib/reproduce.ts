// A past execution as the form's contents: "Load into form" in the recent executions and
// "Run again with these parameters" in an execution's view are the same action.
import type { ExecutionRecord, ExecutionSummary, Parameters } from "../api/types";

/** What fills the form: a trigger's parameters (and, for a manual run, its description). */
export interface RunAgain {
  workflowId: string;
  triggerId: string;
  parameters: Parameters;
  description: string;
  /** The execution it came from, to say so once it is in the form. */
  executionId?: string;
}

const isParameters = (value: unknown): value is Parameters =>
  value !== null && typeof value === "object" && !Array.isArray(value);

/** A listed execution's parameters: the shim gives those that reproduce it, real or manual
 * (null when it cannot be reproduced). */
export function fromSummary(workflowId: string, run: ExecutionSummary): RunAgain | null {
  if (!isParameters(run.parameters)) return null;
  return {
    workflowId,
    triggerId: run.trigger_id,
    parameters: run.parameters,
    description: run.manual ? (run.description ?? "") : "",
    executionId: run.execution_id,
  };
}

/** A recorded execution's: its `parameters` where the shim gives them, else a manual run's
 * `metadata.simulated_parameters`. */
export function fromRecord(record: ExecutionRecord): RunAgain | null {
  const meta = record.metadata ?? {};
  const manual = meta.manual_invocation === true;
  const given = (record as { parameters?: unknown }).parameters;
  const parameters = given !== undefined ? given : manual ? meta.simulated_parameters : null;
  if (!isParameters(parameters)) return null;
  return {
    workflowId: record.workflow_id,
    triggerId: record.trigger_id,
    parameters,
    description: manual && typeof meta.invocation_description === "string" ? meta.invocation_description : "",
    executionId: record.execution_id,
  };
}
