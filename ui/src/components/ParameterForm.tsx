import Form from "@rjsf/core";
import {
  createSchemaUtils,
  type Experimental_DefaultFormStateBehavior,
  type ErrorSchema,
  type RJSFSchema,
  type UiSchema,
} from "@rjsf/utils";
import { useMemo } from "react";
import type { Parameters } from "../api/types";
import { transformErrors, validator } from "../lib/validator";
import { ChoiceSelectWidget } from "./ChoiceSelectWidget";
import { FormatStringField } from "./FormatStringField";
import { JsonField, type JsonFieldContext } from "./JsonField";

type Schema = Record<string, unknown>;

/** Top-level fields that take any JSON (no type) or any object (no properties): raw JSON. */
export function jsonFields(schema: Schema): Set<string> {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  return new Set(
    Object.entries(properties)
      .filter(([, field]) => {
        const typed = "type" in field || "enum" in field || "const" in field || "anyOf" in field || "oneOf" in field;
        return !typed || (field.type === "object" && !field.properties);
      })
      .map(([name]) => name),
  );
}

/** Fields whose anyOf/oneOf only say which formats a string may take (an IPv4 or IPv6
 * address): one text box, not a chooser between "Option 1" and "Option 2". */
export function formatOnlyChoices(schema: Schema): Set<string> {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const formatOnly = (branches: unknown) =>
    Array.isArray(branches) &&
    branches.every((branch: Schema) => Object.keys(branch).every((key) => key === "format"));
  return new Set(
    Object.entries(properties)
      .filter(([, field]) => field.type === "string" && (formatOnly(field.anyOf) || formatOnly(field.oneOf)))
      .map(([name]) => name),
  );
}

// Defaults fill only what the schema gives a default: no empty array items (an empty "to"
// recipient would be invalid) and no empty objects the person never asked for.
const DEFAULTS: Experimental_DefaultFormStateBehavior = {
  arrayMinItems: { populate: "never" },
  emptyObjectFields: "skipEmptyDefaults",
};

/** `values` with the schema's defaults filled in, exactly as the form shows them. */
export function withDefaults(schema: Schema, values: Parameters): Parameters {
  const utils = createSchemaUtils(validator, schema as RJSFSchema, DEFAULTS);
  return (utils.getDefaultFormState(schema as RJSFSchema, values) ?? {}) as Parameters;
}

const sentence = (text: unknown) => (typeof text === "string" ? text.split(/[.;:]/)[0] : "");

/** Names for what rjsf would otherwise call "to-1" or "Option 2". */
function describeNode(name: string, schema: Schema): UiSchema {
  const ui: UiSchema = {};
  if (schema.type === "array" && schema.items && typeof schema.items === "object") {
    ui["ui:title"] = name;
    ui.items = { "ui:title": `${name} item`, ...describeNode(`${name} item`, schema.items as Schema) };
  }
  if (schema.properties && typeof schema.properties === "object") {
    for (const [child, sub] of Object.entries(schema.properties as Record<string, Schema>)) {
      ui[child] = describeNode(child, sub);
    }
  }
  for (const key of ["anyOf", "oneOf"] as const) {
    const branches = schema[key];
    if (Array.isArray(branches)) {
      ui[key] = branches.map((branch: Schema, index) => ({
        "ui:title": (branch.title as string) || sentence(branch.description) || `${String(branch.type ?? "choice")} ${index + 1}`,
      }));
    }
  }
  return ui;
}

export function parametersValid(schema: Schema, parameters: Parameters): boolean {
  return validator.validateFormData(parameters, schema as RJSFSchema).errors.length === 0;
}

interface Props {
  schema: Schema;
  values: Parameters;
  onChange: (values: Parameters) => void;
  /** Errors from the shim's last answer, by field. */
  apiErrors: ErrorSchema;
  onUnparsedChange: JsonFieldContext["setUnparsed"];
  /** Shown, not edited (a viewer's): no field takes input, no item is added or removed. */
  readOnly?: boolean;
}

/** The trigger's parameters as a form generated from its JSON Schema (react-jsonschema-form). */
export function ParameterForm({ schema, values, onChange, apiErrors, onUnparsedChange, readOnly = false }: Props) {
  const uiSchema = useMemo<UiSchema>(() => {
    const ui: UiSchema = { "ui:submitButtonOptions": { norender: true } };
    if (readOnly) ui["ui:globalOptions"] = { addable: false, removable: false, orderable: false, copyable: false };
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    for (const [name, field] of Object.entries(properties)) ui[name] = describeNode(name, field);
    for (const name of jsonFields(schema)) ui[name] = { "ui:field": "json" };
    for (const name of formatOnlyChoices(schema)) {
      ui[name] = { "ui:field": "formatString", "ui:fieldReplacesAnyOrOneOf": true };
    }
    return ui;
  }, [schema, readOnly]);
  const context = useMemo<JsonFieldContext>(() => ({ setUnparsed: onUnparsedChange }), [onUnparsedChange]);
  return (
    <Form
      schema={schema as RJSFSchema}
      uiSchema={uiSchema}
      formData={values}
      validator={validator}
      fields={{ json: JsonField, formatString: FormatStringField }}
      widgets={{ SelectWidget: ChoiceSelectWidget }}
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
