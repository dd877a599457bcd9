import { getDefaultRegistry } from "@rjsf/core";
import { getUiOptions, type IconButtonProps } from "@rjsf/utils";

const Rjsf = getDefaultRegistry().templates.ButtonTemplates;

/** rjsf names every array's add button "Add" and every item's remove button "Remove": a
 * screen reader's list of buttons could not tell them apart (WCAG 2.4.6). These name what
 * they act on ("Add Commit", "Remove Commit 1"), keeping the visible "+ Add" and "✕" inside
 * the name. The labels come from the uiSchema lib/schemaForm.ts makes. */
export function AddButton({ id, className, onClick, disabled, uiSchema }: IconButtonProps) {
  const { addLabel } = getUiOptions(uiSchema);
  const label = typeof addLabel === "string" ? addLabel : "Add";
  return (
    <p className={className}>
      <button type="button" id={id} className="btn btn-info btn-add" onClick={onClick} disabled={disabled} title={label} aria-label={label}>
        <i className="glyphicon glyphicon-plus" aria-hidden="true" />
      </button>
    </p>
  );
}

export function RemoveButton(props: IconButtonProps) {
  const { title } = getUiOptions(props.uiSchema);
  const label = typeof title === "string" ? `Remove ${title}` : "Remove";
  return <Rjsf.RemoveButton {...props} title={label} aria-label={label} />;
}
