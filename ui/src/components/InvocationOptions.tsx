interface Props {
  description: string;
  /** The description sent when the field is left empty; none before a trigger is chosen. */
  defaultDescription: string | null;
  onDescriptionChange: (description: string) => void;
  /** The shim's messages about the description (`/description`). */
  descriptionErrors: string[];
  /** The shim's messages about the request as a whole. */
  generalErrors: string[];
  dryRun: boolean;
  onDryRunChange: (dryRun: boolean) => void;
  /** A trigger is chosen and its parameters pass the schema. */
  sendable: boolean;
  /** A request is on its way, or a 429 holds the next one. */
  held: boolean;
  onSend: () => void;
}

/** "Description", "Dry run" and the button that sends them with the parameters. */
export function InvocationOptions({
  description,
  defaultDescription,
  onDescriptionChange,
  descriptionErrors,
  generalErrors,
  dryRun,
  onDryRunChange,
  sendable,
  held,
  onSend,
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
      {generalErrors.length ? (
        <ul className="problems" aria-label="Errors of the request">
          {generalErrors.map((message) => (
            <li key={message}>{message}</li>
          ))}
        </ul>
      ) : null}
      <div className="button-row">
        {/* While held the button stays focusable (aria-disabled) and ignores presses: a
            disabled button would drop the focus to <body>. */}
        <button type="button" className="invoke-button" disabled={!sendable} aria-disabled={held || undefined} onClick={onSend}>
          {dryRun ? "Validate" : "Invoke"} Trigger
        </button>
      </div>
    </div>
  );
}
