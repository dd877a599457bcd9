import { useId, useState } from "react";
import { CopyButton } from "./CopyButton";

/** Nested objects and arrays deeper than this start folded. */
const OPEN_DEPTH = 2;

function Scalar({ value }: { value: unknown }) {
  if (value === null) return <span className="json-null">null</span>;
  switch (typeof value) {
    case "string":
      return <span className="json-string">{JSON.stringify(value)}</span>;
    case "number":
      return <span className="json-number">{String(value)}</span>;
    case "boolean":
      return <span className="json-boolean">{String(value)}</span>;
    default:
      return <span className="json-null">{JSON.stringify(value) ?? "undefined"}</span>;
  }
}

interface NodeProps {
  name?: string;
  value: unknown;
  depth: number;
  comma: boolean;
}

/** One member or item: a line for a scalar, a foldable `<details>` for an object or array. */
function JsonNode({ name, value, depth, comma }: NodeProps) {
  const key =
    name === undefined ? null : (
      <>
        <span className="json-key">{JSON.stringify(name)}</span>
        <span className="json-punct">: </span>
      </>
    );
  const tail = comma ? <span className="json-punct">,</span> : null;
  const container = value !== null && typeof value === "object";
  const entries = container ? (Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value)) : [];
  if (!container || entries.length === 0) {
    return (
      <div className="json-line">
        {key}
        {container ? <span className="json-punct">{Array.isArray(value) ? "[]" : "{}"}</span> : <Scalar value={value} />}
        {tail}
      </div>
    );
  }
  const array = Array.isArray(value);
  const [open, close] = array ? ["[", "]"] : ["{", "}"];
  const count = `${entries.length} ${array ? (entries.length === 1 ? "item" : "items") : entries.length === 1 ? "key" : "keys"}`;
  const children = entries.map(([childName, child], index) => (
    <JsonNode
      key={childName}
      name={array ? undefined : childName}
      value={child}
      depth={depth + 1}
      comma={index < entries.length - 1}
    />
  ));
  if (depth === 0) {
    return (
      <>
        <div className="json-line json-punct">{open}</div>
        <div className="json-children">{children}</div>
        <div className="json-line json-punct">{close}</div>
      </>
    );
  }
  return (
    <details className="json-node" open={depth < OPEN_DEPTH}>
      <summary>
        {key}
        <span className="json-punct">{open}</span>
        <span className="json-folded">
          {" "}
          … {count} <span className="json-punct">{close}</span>
          {tail}
        </span>
      </summary>
      <div className="json-children">{children}</div>
      <div className="json-line">
        <span className="json-punct">{close}</span>
        {tail}
      </div>
    </details>
  );
}

interface Props {
  /** The heading: "Trigger data", "Workflow input", "Output"… */
  label: string;
  value: unknown;
  defaultOpen?: boolean;
}

/** Readable, foldable, highlighted JSON with a copy button (no dependency: a few spans). */
export function JsonView({ label, value, defaultOpen = true }: Props) {
  const [open, setOpen] = useState(defaultOpen);
  const id = useId();
  return (
    <section className="json-view" aria-label={label}>
      <div className="json-head">
        <button
          type="button"
          className="json-toggle"
          aria-expanded={open}
          aria-controls={id}
          onClick={() => setOpen(!open)}
        >
          <span aria-hidden="true" className="json-chevron">
            {open ? "▾" : "▸"}
          </span>{" "}
          {label}
        </button>
        <CopyButton text={JSON.stringify(value, null, 2) ?? "null"} what={label.toLowerCase()} />
      </div>
      {/* Focusable: a long document scrolls within its box, also from the keyboard. */}
      <div id={id} className="json-tree" hidden={!open} tabIndex={0} role="group" aria-label={`${label} (JSON)`}>
        <JsonNode value={value} depth={0} comma={false} />
      </div>
    </section>
  );
}
