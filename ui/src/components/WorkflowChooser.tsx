import type { WorkflowSummary } from "../api/types";

interface Props {
  workflows: WorkflowSummary[];
  selected: string | null;
  onSelect: (workflowId: string | null) => void;
}

/** "Workflow": the workflows the signed-in person may read, with their role on each. */
export function WorkflowChooser({ workflows, selected, onSelect }: Props) {
  return (
    <div className="field-row">
      <label htmlFor="mtp-workflow">Workflow</label>
      <select id="mtp-workflow" value={selected ?? ""} onChange={(event) => onSelect(event.target.value || null)}>
        <option value="">{workflows.length ? "Choose a workflow…" : "No workflows you may read"}</option>
        {workflows.map((workflow) => (
          <option key={workflow.id} value={workflow.id}>
            {`${workflow.name} — ${workflow.id} (${workflow.role})`}
          </option>
        ))}
      </select>
    </div>
  );
}
