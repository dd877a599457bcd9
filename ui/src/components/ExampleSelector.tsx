import type { ParameterExample } from "../api/types";

interface Props {
  examples: ParameterExample[];
  /** Index of the example the parameters came from, or null once edited or none chosen. */
  chosen: number | null;
  onSelect: (index: number) => void;
}

/** "Example": choosing one replaces the parameters with it. */
export function ExampleSelector({ examples, chosen, onSelect }: Props) {
  if (examples.length === 0) return null;
  const description = chosen !== null ? examples[chosen]?.description : undefined;
  return (
    <div className="field-row">
      <label htmlFor="mtp-example">Example</label>
      <select
        id="mtp-example"
        value={chosen ?? ""}
        aria-describedby={description ? "mtp-example-description" : undefined}
        onChange={(event) => event.target.value !== "" && onSelect(Number(event.target.value))}
      >
        <option value="">Choose an example…</option>
        {examples.map((example, index) => (
          <option key={example.name} value={index}>
            {example.name}
          </option>
        ))}
      </select>
      {description ? (
        <p id="mtp-example-description" className="hint">
          {description}
        </p>
      ) : null}
    </div>
  );
}
