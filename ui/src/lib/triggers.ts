import type { Parameters, WorkflowSummary } from "../api/types";

export const defaultDescription = (trigger: { type: string }): string =>
  `Manual test of ${trigger.type} trigger`;

/** An example (or any partial parameters) as the shim resolves it: the trigger's
 * `default_parameters` with the given ones over them, key by key at the top level only
 * (`{...defaults, ...parameters}` in worker/resolvers). A nested object given replaces the
 * default one whole, as it does there. */
export const overDefaults = (defaults: Parameters | null | undefined, parameters: Parameters): Parameters => ({
  ...(defaults ?? {}),
  ...parameters,
});

// Roles ordered viewer < operator < editor < owner; operator and up may invoke, dry runs
// included (worker/authz.py). A role the panel does not know is not assumed to invoke.
const INVOKING_ROLES: ReadonlySet<string> = new Set(["operator", "editor", "owner"]);

/** Whether the shim lets this role invoke (or dry-run) the workflow's triggers. */
export const mayInvoke = (role: WorkflowSummary["role"]): boolean => INVOKING_ROLES.has(role);

// Text-like inputs: Enter in one sends the request, as in a form with a submit button.
const SINGLE_LINE = new Set(["text", "search", "email", "url", "tel", "number", "password", "date", "datetime-local", "time"]);

/** Enter pressed in a single-line field (not a textarea, select or checkbox; not while an
 * input method composes a character; no modifier). */
export function isEnterInSingleLineField(event: {
  key: string;
  target: EventTarget | null;
  shiftKey: boolean;
  ctrlKey: boolean;
  altKey: boolean;
  metaKey: boolean;
  nativeEvent: { isComposing?: boolean };
}): boolean {
  if (event.key !== "Enter" || event.nativeEvent.isComposing) return false;
  if (event.shiftKey || event.ctrlKey || event.altKey || event.metaKey) return false;
  const target = event.target;
  return target instanceof HTMLInputElement && SINGLE_LINE.has(target.type) && !target.readOnly;
}
