import type { Trigger } from "../api/types";

interface Props {
  triggers: Trigger[];
  selected: string | null;
  onSelect: (triggerId: string | null) => void;
}

/** "Trigger": each option shows the trigger's name, id and type. */
export function TriggerSelector({ triggers, selected, onSelect }: Props) {
  return (
    <div className="field-row">
      <label htmlFor="mtp-trigger">Trigger</label>
      <select
        id="mtp-trigger"
        value={selected ?? ""}
        onChange={(event) => onSelect(event.target.value || null)}
      >
        <option value="">Choose a trigger…</option>
        {triggers.map((trigger) => {
          const usable = trigger.manual_invocation && trigger.manual_invocation_supported;
          return (
            <option key={trigger.id} value={trigger.id} disabled={!usable}>
              {`${trigger.name} — ${trigger.id} (${trigger.type})${
                usable ? "" : trigger.manual_invocation ? " · not supported" : " · manual runs off"
              }`}
            </option>
          );
        })}
      </select>
    </div>
  );
}
