import Form from "@rjsf/core";
import type { ErrorSchema, RJSFSchema } from "@rjsf/utils";
import { useMemo } from "react";
import type { Parameters } from "../api/types";
import { DEFAULTS, effectiveSchema, type Schema, uiSchemaFor } from "../lib/schemaForm";
import { friendlyErrors, validator } from "../lib/validator";
import { AddButton, RemoveButton } from "./ArrayButtons";
import { ChoiceSelectWidget } from "./ChoiceSelectWidget";
import { FormatStringField } from "./FormatStringField";
import { JsonField, type JsonFieldContext } from "./JsonField";

const TEMPLATES = { ButtonTemplates: { AddButton, RemoveButton } };

interface Props {
  /** The trigger's whole parameter schema; the form draws the fields that apply to `values`. */
  schema: Schema;
  /** The parameters, as `settle` made them (defaults in, what no longer applies out). */
  values: Parameters;
  onChange: (values: Parameters) => void;
  /** Errors from the shim's last answer, by field. */
  apiErrors: ErrorSchema;
  onUnparsedChange: JsonFieldContext["setUnparsed"];
  /** Shown, not edited (a viewer's): no field takes input, no item is added or removed. */
  readOnly?: boolean;
}

/** The trigger's parameters as a form generated from its JSON Schema (react-jsonschema-form):
 * the fields of the chosen event type only, each labelled by its title, checked as it is
 * typed with the messages of lib/validator.ts. */
export function ParameterForm({ schema, values, onChange, apiErrors, onUnparsedChange, readOnly = false }: Props) {
  const flat = effectiveSchema(schema, values);
  const uiSchema = useMemo(() => uiSchemaFor(flat, readOnly), [flat, readOnly]);
  const transformErrors = useMemo(() => friendlyErrors(flat), [flat]);
  const context = useMemo<JsonFieldContext>(() => ({ setUnparsed: onUnparsedChange }), [onUnparsedChange]);
  return (
    <Form
      schema={flat as RJSFSchema}
      uiSchema={uiSchema}
      formData={values}
      validator={validator}
      fields={{ json: JsonField, formatString: FormatStringField }}
      widgets={{ SelectWidget: ChoiceSelectWidget }}
      templates={TEMPLATES}
      formContext={context}
      readonly={readOnly}
      experimental_defaultFormStateBehavior={DEFAULTS}
      liveValidate="onChange"
      showErrorList={false}
      noHtml5Validate
      transformErrors={transformErrors}
      extraErrors={apiErrors}
      onChange={(event) => {
        // rjsf also calls this when it fills defaults into new values: only a real edit counts.
        const next = (event.formData ?? {}) as Parameters;
        if (JSON.stringify(next) !== JSON.stringify(values)) onChange(next);
      }}
      onSubmit={() => undefined}
    />
  );
}
