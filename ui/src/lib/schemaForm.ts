// From a trigger's parameter schema to the form the panel draws: which fields apply to the
// values given (the `if`/`then` branches of `allOf`: GitHub's push shows ref and commits,
// pull_request its action and number), their labels, widgets and defaults. Nothing here knows
// a trigger type: it is all read from the schema.
import {
  createSchemaUtils,
  type Experimental_DefaultFormStateBehavior,
  type RJSFSchema,
  type UiSchema,
} from "@rjsf/utils";
import type { Parameters } from "../api/types";
import { validator } from "./validator";

export type Schema = Record<string, unknown>;

const isObject = (value: unknown): value is Schema =>
  value !== null && typeof value === "object" && !Array.isArray(value);
const propertiesOf = (schema: Schema) => (isObject(schema.properties) ? (schema.properties as Record<string, Schema>) : {});

/** `head_sha` → "Head sha", `sourceIp` → "Source ip": a label for a field without a title. */
export function humanise(name: string): string {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/[_\-\s]+/g, " ")
    .trim()
    .toLowerCase();
  return words ? words[0].toUpperCase() + words.slice(1) : name;
}

/** A field's label: its schema's title, else its name made readable. */
export const titleOf = (name: string, schema: Schema): string =>
  typeof schema.title === "string" && schema.title.trim() ? schema.title : humanise(name);

/** A field that takes any JSON (no type) or any object (no properties): edited as raw JSON. */
const takesRawJson = (field: Schema) => {
  const typed = ["type", "enum", "const", "anyOf", "oneOf"].some((key) => key in field);
  return !typed || (field.type === "object" && !field.properties);
};

/** The schema's own properties and those of each of its `allOf` branches (then, else). */
function everyProperty(schema: Schema): [string, Schema][] {
  const parts = [schema];
  for (const entry of Array.isArray(schema.allOf) ? schema.allOf : []) {
    if (!isObject(entry)) continue;
    parts.push(entry);
    for (const key of ["then", "else"]) if (isObject(entry[key])) parts.push(entry[key] as Schema);
  }
  return parts.flatMap((part) => Object.entries(propertiesOf(part)));
}

/** Top-level fields edited as raw JSON (a webhook body, a GitHub payload or inputs), in any
 * branch: the shim's errors inside them are shown on the field. */
export function jsonFields(schema: Schema): Set<string> {
  return new Set(everyProperty(schema).filter(([, field]) => takesRawJson(field)).map(([name]) => name));
}

/** Strings whose anyOf/oneOf only say which formats they may take (an IPv4 or IPv6 address). */
const formatOnly = (field: Schema) =>
  field.type === "string" &&
  [field.anyOf, field.oneOf].some(
    (branches) => Array.isArray(branches) && branches.every((branch: Schema) => Object.keys(branch).every((key) => key === "format")),
  );

const longText = (field: Schema) => typeof field.contentMediaType === "string" && field.contentMediaType.startsWith("text/");

// One flat schema per schema and set of branches taken, so that the form sees the same object
// (and rjsf keeps its caches) while the branches stay the same.
const flattened = new WeakMap<Schema, Map<string, Schema>>();

/**
 * The fields that apply to these values: the schema's own properties merged with those of each
 * `allOf` branch whose `if` the values pass (`then`; `else` otherwise); the fields the
 * branches depend on first, free-form JSON fields last. A schema closed by `unevaluatedProperties: false` stays closed (additionalProperties).
 * The values are still validated against the whole schema; this is what is drawn.
 */
export function effectiveSchema(schema: Schema, values: Parameters): Schema {
  const allOf = Array.isArray(schema.allOf) ? (schema.allOf as unknown[]) : [];
  const taken = allOf.map((entry): Schema | null => {
    if (!isObject(entry)) return null;
    if (!("if" in entry)) return entry;
    const branch = validator.isValid(entry.if as RJSFSchema, values, schema as RJSFSchema) ? entry.then : entry.else;
    return isObject(branch) ? branch : null;
  });
  const key = taken.map((branch, index) => (branch ? `${index}${branch === (allOf[index] as Schema).else ? "e" : ""}` : "-")).join();
  let cache = flattened.get(schema);
  if (!cache) flattened.set(schema, (cache = new Map()));
  const cached = cache.get(key);
  if (cached) return cached;

  const { allOf: _allOf, unevaluatedProperties, ...base } = schema;
  const merged: Record<string, Schema> = { ...propertiesOf(base) };
  const required = new Set(Array.isArray(base.required) ? (base.required as string[]) : []);
  for (const branch of taken) {
    if (!branch) continue;
    for (const [name, field] of Object.entries(propertiesOf(branch))) merged[name] = { ...merged[name], ...field };
    for (const name of Array.isArray(branch.required) ? (branch.required as string[]) : []) required.add(name);
  }
  // The fields the branches depend on (the event type) first, free-form JSON last.
  const deciding = new Set(allOf.flatMap((entry) => (isObject(entry) && isObject(entry.if) ? Object.keys(propertiesOf(entry.if)) : [])));
  const rank = ([name, field]: [string, Schema]) => (deciding.has(name) ? 0 : takesRawJson(field) ? 2 : 1);
  const ordered = Object.entries(merged).sort((a, b) => rank(a) - rank(b));
  const flat: Schema = { ...base, properties: Object.fromEntries(ordered) };
  if (required.size) flat.required = [...required];
  if (unevaluatedProperties === false) flat.additionalProperties = false;
  cache.set(key, flat);
  return flat;
}

// Defaults fill only what the schema gives a default: no empty array items (an empty "to"
// recipient would be invalid) and no empty objects the person never asked for.
export const DEFAULTS: Experimental_DefaultFormStateBehavior = {
  arrayMinItems: { populate: "never" },
  emptyObjectFields: "skipEmptyDefaults",
};

function withDefaults(flat: Schema, values: Parameters): Parameters {
  const utils = createSchemaUtils(validator, flat as RJSFSchema, DEFAULTS);
  return (utils.getDefaultFormState(flat as RJSFSchema, values) ?? {}) as Parameters;
}

/** A field's choices: its `enum`, or the `const` of each of its oneOf/anyOf branches. */
function choicesOf(field: Schema): unknown[] | null {
  if (Array.isArray(field.enum)) return field.enum;
  for (const key of ["oneOf", "anyOf"]) {
    const branches = field[key];
    if (Array.isArray(branches) && branches.length && branches.every((branch) => isObject(branch) && "const" in branch)) {
      return branches.map((branch: Schema) => branch.const);
    }
  }
  return null;
}

/** Only what still applies: in a closed schema, no field it no longer has; no choice that is
 * not among the field's choices any more (an action of another event type). */
function applicable(flat: Schema, values: Parameters): Parameters {
  const fields = propertiesOf(flat);
  const closed = flat.additionalProperties === false;
  return Object.fromEntries(
    Object.entries(values).filter(([name, value]) => {
      const field = fields[name];
      if (!field) return !closed;
      const choices = choicesOf(field);
      return !choices || choices.some((choice) => JSON.stringify(choice) === JSON.stringify(value));
    }),
  );
}

/**
 * The parameters as the form shows them: the defaults of the fields that apply filled in, the
 * values of fields that no longer apply dropped (the event type changed), until the branches
 * taken settle. Every value the panel holds went through here.
 */
export function settle(schema: Schema, values: Parameters): Parameters {
  let current = values;
  for (let round = 0; round < 5; round++) {
    const flat = effectiveSchema(schema, current);
    const next = withDefaults(flat, applicable(flat, current));
    if (effectiveSchema(schema, next) === flat) return next;
    current = next;
  }
  return current;
}

/** Labels, widgets and custom fields for a (flat) schema's fields, at every depth. */
function describe(field: Schema, title: string): UiSchema {
  const ui: UiSchema = { "ui:title": title };
  if (longText(field)) {
    ui["ui:widget"] = "textarea";
    ui["ui:options"] = { rows: 5 };
  }
  if (isObject(field.items)) {
    const items = field.items;
    // "Attachment 1", "Attachment 2"; without a title of the items, "Labels item 1".
    const itemTitle = typeof items.title === "string" && items.title.trim() ? items.title : `${title} item`;
    ui.items = (_item: unknown, index: number) => describe(items, `${itemTitle} ${index + 1}`);
    ui["ui:addLabel"] = `Add ${itemTitle}`; // components/ArrayButtons.tsx
  }
  for (const [child, sub] of Object.entries(propertiesOf(field))) ui[child] = describe(sub, titleOf(child, sub));
  for (const key of ["anyOf", "oneOf"] as const) {
    const branches = field[key];
    if (Array.isArray(branches)) {
      ui[key] = branches.map((branch: Schema, index) => ({
        "ui:title":
          (typeof branch.title === "string" && branch.title) ||
          (typeof branch.description === "string" ? branch.description.split(/[.;:]/)[0] : "") ||
          `${String(branch.type ?? "choice")} ${index + 1}`,
      }));
    }
  }
  return ui;
}

/** The form's uiSchema: every field labelled by its title, raw JSON and format-only fields
 * drawn by the panel's own fields, long text in a textarea. */
export function uiSchemaFor(flat: Schema, readOnly: boolean): UiSchema {
  const ui: UiSchema = { "ui:submitButtonOptions": { norender: true } };
  if (readOnly) ui["ui:globalOptions"] = { addable: false, removable: false, orderable: false, copyable: false };
  for (const [name, field] of Object.entries(propertiesOf(flat))) {
    ui[name] = describe(field, titleOf(name, field));
    if (takesRawJson(field)) ui[name]["ui:field"] = "json";
    else if (formatOnly(field)) Object.assign(ui[name], { "ui:field": "formatString", "ui:fieldReplacesAnyOrOneOf": true });
  }
  return ui;
}
