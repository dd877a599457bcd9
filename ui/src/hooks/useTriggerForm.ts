import { useCallback, useEffect, useEffectEvent, useMemo, useRef, useState } from "react";
import type { Api } from "../api/client";
import type { Parameters, Trigger } from "../api/types";
import { chooseTrigger, chosenTrigger, readDraft, writeDraft } from "../lib/drafts";
import type { RunAgain } from "../lib/reproduce";
import { settle } from "../lib/schemaForm";
import { overDefaults } from "../lib/triggers";
import { isValid } from "../lib/validator";
import { useTriggerSchema } from "./data";

interface Edits {
  /** The trigger these edits are of; null before its schema is loaded. */
  of: string | null;
  parameters: Parameters;
  /** The example the parameters came from, or null once edited or none chosen. */
  example: number | null;
  description: string;
  dryRun: boolean;
}

const usable = (trigger: Trigger) => trigger.manual_invocation && trigger.manual_invocation_supported;

/**
 * The chosen trigger and the form's contents: its defaults when first chosen, the edits kept
 * in session storage when there are some (a reload, a new sign-in), a past run's parameters
 * when one is loaded. Every value goes through `settle` (the fields of the chosen event type,
 * their defaults). `onReplaced` is told whenever the contents are replaced as a whole.
 */
export function useTriggerForm(
  api: Api,
  workflowId: string,
  triggers: Trigger[],
  offered: RunAgain | null,
  onReplaced: () => void,
) {
  const [triggerId, setTriggerId] = useState<string | null>(() => {
    const kept = chosenTrigger(workflowId);
    return triggers.some((t) => t.id === kept && usable(t)) ? kept : null;
  });
  const [edits, setEdits] = useState<Edits>({ of: null, parameters: {}, example: null, description: "", dryRun: true });
  const [unparsed, setUnparsed] = useState<ReadonlySet<string>>(new Set());
  // A run to fill the form with, once its trigger's schema is loaded.
  const [pending, setPending] = useState<RunAgain | null>(null);
  const [announcement, setAnnouncement] = useState("");
  const heading = useRef<HTMLHeadingElement>(null);
  // The form's heading takes the focus once a loaded run is in the form (and drawn).
  const focusHeading = useRef(false);

  const schema = useTriggerSchema(api, workflowId, triggerId);
  const loaded = schema.data && !schema.loading && schema.data.trigger_id === triggerId ? schema.data : null;
  const trigger = triggers.find((t) => t.id === triggerId) ?? null;

  const replaced = useEffectEvent(onReplaced);
  // Fill the form once the trigger's schema is there: with the run being loaded, else with
  // the edits kept for this trigger, else with its defaults.
  useEffect(() => {
    if (!loaded) return;
    const id = loaded.trigger_id;
    const parameterSchema = loaded.parameter_schema;
    if (pending && pending.triggerId === id) {
      setEdits((current) => ({
        of: id,
        parameters: settle(parameterSchema, pending.parameters),
        example: null,
        description: pending.description,
        dryRun: current.dryRun,
      }));
      setPending(null);
      setAnnouncement(
        `${pending.executionId ? `Parameters of execution ${pending.executionId}` : "Parameters"} loaded into the form. ` +
          "Nothing is sent until you press Validate Trigger or Invoke Trigger.",
      );
      focusHeading.current = true;
    } else if (edits.of !== id) {
      const draft = readDraft(workflowId, id);
      setEdits((current) => ({
        of: id,
        parameters: settle(parameterSchema, draft?.parameters ?? loaded.default_parameters ?? {}),
        example: null,
        description: draft?.description ?? "",
        dryRun: draft?.dryRun ?? current.dryRun,
      }));
    } else return;
    setUnparsed(new Set());
    replaced();
  }, [loaded, pending, edits.of, workflowId]);

  useEffect(() => {
    if (focusHeading.current && heading.current) {
      focusHeading.current = false;
      heading.current.focus();
    }
  });

  // Kept for this tab: a reload or a new sign-in finds them.
  useEffect(() => {
    if (edits.of && edits.of === triggerId) {
      writeDraft(workflowId, edits.of, { parameters: edits.parameters, description: edits.description, dryRun: edits.dryRun });
    }
  }, [edits, triggerId, workflowId]);

  const select = (id: string | null) => {
    setTriggerId(id);
    setPending(null);
    setAnnouncement("");
    chooseTrigger(workflowId, id);
  };

  /** Fill the form with a past run's parameters, choosing its trigger first. */
  const load = (run: RunAgain | null) => {
    if (!run || run.workflowId !== workflowId || !triggers.some((t) => t.id === run.triggerId && usable(t))) return;
    setTriggerId(run.triggerId);
    chooseTrigger(workflowId, run.triggerId);
    setPending(run);
  };
  // A run offered from outside the panel (the page's own execution view).
  const loadOffered = useEffectEvent(load);
  useEffect(() => {
    if (offered) loadOffered(offered);
  }, [offered]);

  const current = loaded && edits.of === loaded.trigger_id ? edits : null;
  const change = (values: Parameters, example: number | null = null) => {
    if (!loaded) return;
    setEdits((previous) => ({ ...previous, parameters: settle(loaded.parameter_schema, values), example }));
    setAnnouncement("");
  };
  const setUnparsedField = useCallback((name: string, isUnparsed: boolean) => {
    setUnparsed((now) => {
      if (now.has(name) === isUnparsed) return now;
      const next = new Set(now);
      if (isUnparsed) next.add(name);
      else next.delete(name);
      return next;
    });
  }, []);
  const valid = useMemo(
    () => current !== null && unparsed.size === 0 && isValid(loaded!.parameter_schema, current.parameters),
    [current, unparsed, loaded],
  );

  return {
    triggerId,
    trigger,
    schema,
    /** The trigger's schema answer, once loaded and the form filled from it. */
    loaded: current ? loaded : null,
    parameters: edits.parameters,
    example: edits.example,
    description: edits.description,
    dryRun: edits.dryRun,
    valid,
    announcement,
    heading,
    select,
    load,
    change,
    /** An example, merged over the trigger's defaults as the shim merges it (top-level keys). */
    chooseExample: (index: number) =>
      loaded && change(overDefaults(loaded.default_parameters, loaded.examples[index].parameters), index),
    setDescription: (description: string) => setEdits((previous) => ({ ...previous, description })),
    setDryRun: (dryRun: boolean) => setEdits((previous) => ({ ...previous, dryRun })),
    setUnparsed: setUnparsedField,
  };
}
