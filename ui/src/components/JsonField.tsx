import { type ErrorSchema, type FieldProps, getUiOptions } from "@rjsf/utils";
import { useEffect, useEffectEvent, useState } from "react";
import { parseJson } from "../lib/json";
import { humanise } from "../lib/schemaForm";

export interface JsonFieldContext {
  /** Tell the panel a raw-JSON field holds text that is not JSON (the button waits). */
  setUnparsed: (name: string, unparsed: boolean) => void;
}

const show = (value: unknown): string => (value === undefined ? "" : JSON.stringify(value, null, 2));

function flatten(errors: ErrorSchema | undefined, at = ""): string[] {
  if (!errors) return [];
  return Object.entries(errors).flatMap(([key, value]) =>
    key === "__errors"
      ? (errors.__errors ?? []).map((message) => (at ? `${at}: ${message}` : message))
      : flatten(value as ErrorSchema, `${at}/${key}`),
  );
}

/** A free-form value (a webhook body, extra headers) edited as JSON text. */
export function JsonField(props: FieldProps) {
  const { fieldPathId, formData, schema, uiSchema, name, required, readonly, errorSchema, onChange, registry } = props;
  const id = fieldPathId.$id;
  const [text, setText] = useState(() => show(formData));
  const [parseError, setParseError] = useState<string | null>(null);
  const context = registry.formContext as JsonFieldContext | undefined;

  // A value set from outside (an example, "Run again") replaces the text, unless the text
  // already says the same; keyed on the serialised value, as objects are new each render.
  const serialized = JSON.stringify(formData);
  const fromOutside = useEffectEvent(() => {
    setText((current) => {
      try {
        if (JSON.stringify(JSON.parse(current)) === serialized) return current;
      } catch {
        /* the text is being edited and is not JSON yet: replace it */
      }
      return show(formData);
    });
    setParseError(null);
    context?.setUnparsed(name, false);
  });
  useEffect(() => fromOutside(), [serialized]);
  // A field that goes (another event type was chosen) holds nothing back any more.
  const gone = useEffectEvent(() => context?.setUnparsed(name, false));
  useEffect(() => () => gone(), []);

  const change = (value: string) => {
    setText(value);
    if (value.trim() === "") {
      setParseError(null);
      context?.setUnparsed(name, false);
      onChange(undefined, fieldPathId.path);
      return;
    }
    const parsed = parseJson(value);
    setParseError(parsed.ok ? null : parsed.message);
    context?.setUnparsed(name, !parsed.ok);
    if (parsed.ok) onChange(parsed.value, fieldPathId.path);
  };

  const errors = [...(parseError ? [parseError] : []), ...flatten(errorSchema)];
  const title = getUiOptions(uiSchema).title ?? schema.title ?? humanise(name);
  return (
    <div className="form-group field json-field">
      <label className="control-label" htmlFor={id}>
        {title}
        {required ? <span className="required">*</span> : null}
        <span className="json-badge"> (JSON)</span>
      </label>
      {schema.description ? (
        <p id={`${id}__description`} className="field-description">
          {schema.description}
        </p>
      ) : null}
      <textarea
        id={id}
        className="form-control json"
        rows={Math.min(12, Math.max(3, text.split("\n").length))}
        spellCheck={false}
        value={text}
        readOnly={readonly}
        aria-invalid={errors.length > 0}
        aria-describedby={`${id}__description ${id}__error`}
        onChange={(event) => change(event.target.value)}
      />
      <div id={`${id}__error`}>
        {errors.length > 0 ? (
          <ul className="error-detail">
            {errors.map((message) => (
              <li key={message} className="text-danger">
                {message}
              </li>
            ))}
          </ul>
        ) : null}
      </div>
    </div>
  );
}
