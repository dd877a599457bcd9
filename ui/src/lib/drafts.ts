// The person's edits, kept in this tab's session storage so that a reload, or signing in again
// after the token expired, finds them where they were: the workflow and trigger chosen, and
// per workflow and trigger the parameters, description and dry-run switch. Signing out
// forgets them. Storage that refuses (a sandboxed frame, a full quota) only loses the copy.
import type { Parameters } from "../api/types";

const PREFIX = "mti.edits.";

export interface Draft {
  parameters: Parameters;
  description: string;
  dryRun: boolean;
}

function read<T>(key: string): T | null {
  try {
    const text = sessionStorage.getItem(PREFIX + key);
    return text === null ? null : (JSON.parse(text) as T);
  } catch {
    return null;
  }
}

function write(key: string, value: unknown): void {
  try {
    if (value === null) sessionStorage.removeItem(PREFIX + key);
    else sessionStorage.setItem(PREFIX + key, JSON.stringify(value));
  } catch {
    /* not kept: the edits stay on the page */
  }
}

export const chosenWorkflow = (): string | null => read<string>("workflow");
export const chooseWorkflow = (workflowId: string | null): void => write("workflow", workflowId);

export const chosenTrigger = (workflowId: string): string | null => read<string>(`trigger.${workflowId}`);
export const chooseTrigger = (workflowId: string, triggerId: string | null): void =>
  write(`trigger.${workflowId}`, triggerId);

export function readDraft(workflowId: string, triggerId: string): Draft | null {
  const draft = read<Partial<Draft>>(`draft.${workflowId}/${triggerId}`);
  if (!draft || typeof draft.parameters !== "object" || draft.parameters === null) return null;
  return {
    parameters: draft.parameters,
    description: typeof draft.description === "string" ? draft.description : "",
    dryRun: draft.dryRun !== false,
  };
}

export const writeDraft = (workflowId: string, triggerId: string, draft: Draft): void =>
  write(`draft.${workflowId}/${triggerId}`, draft);

/** Sign out: forget every edit kept in this tab. */
export function forgetEdits(): void {
  try {
    for (const key of Object.keys(sessionStorage)) if (key.startsWith(PREFIX)) sessionStorage.removeItem(key);
  } catch {
    /* nothing kept */
  }
}
