interface Props {
  description: string;
  /** The description sent when the field is left empty; none before a trigger is chosen. */
  defaultDescription: string | null;
  onDescriptionChange: (description: string) => void;
  /** The shim's messages about the description (`/description`). */
  descriptionErrors: string[];
  dryRun: boolean;
  onDryRunChange: (dryRun: boolean) => void;
}

/** "Description" and "Dry run": what goes with the parameters in the request. */
export function InvocationOptions({
  description,
  defaultDescription,
  onDescriptionChange,
  descriptionErrors,
  dryRun,
  onDryRunChange,
}: Props) {
  return (
    <div className="invocation-options">
      <div className="field-row">
        <label htmlFor="mtp-description">Description</label>
        <input
          id="mtp-description"
          type="text"
          maxLength={2000}
          value={description}
          placeholder={defaultDescription ?? undefined}
          aria-describedby="mtp-description-errors"
          onChange={(event) => onDescriptionChange(event.target.value)}
        />
        <div id="mtp-description-errors">
          {descriptionErrors.map((message) => (
            <p key={message} className="text-danger">
              {message}
            </p>
          ))}
        </div>
      </div>
      <label className="checkbox">
        <input type="checkbox" checked={dryRun} onChange={(event) => onDryRunChange(event.target.checked)} />
        Dry run (validate without executing)
      </label>
    </div>
  );
}
