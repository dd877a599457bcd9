import type { RJSFValidationError } from "@rjsf/utils";
import { customizeValidator } from "@rjsf/validator-ajv8";
import Ajv2020 from "ajv/dist/2020";
import { CUSTOM_FORMATS, formatMessage } from "./formats";

/** The trigger schemas are JSON Schema 2020-12 (contracts/), so the form validates with it,
 * with the formats the worker checks (lib/formats.ts; ipv4 and ipv6 from ajv-formats). */
export const validator = customizeValidator({ AjvClass: Ajv2020, customFormats: CUSTOM_FORMATS });

type Schema = Record<string, unknown>;

/** The patterns the parameter schemas use, in words. A pattern not listed here is explained
 * by its field's description instead: a regular expression is never shown. */
const PATTERN_MESSAGES: Record<string, string> = {
  "^[0-9a-f]{4,40}$": "must be a commit SHA: 4 to 40 hex digits (0-9, a-f)",
  "^[a-z_]+$": "must be lower-case letters and underscores",
  "^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$": "must be a GitHub login: up to 39 letters, digits or hyphens, not starting with a hyphen",
  "^[CGD][A-Z0-9]{6,}$": "must be a Slack channel id like C0123ABCD",
  "^[UW][A-Z0-9]{6,}$": "must be a Slack user id like U0123ABCD",
  "^B[A-Z0-9]{6,}$": "must be a Slack bot id like B0123ABCD",
  "^[0-9]{10}\\.[0-9]{6}$": "must be a Slack timestamp like 1712345678.123456",
  "^[a-z0-9_+-]+$": "must be an emoji name like thumbsup",
  "^[a-z][a-z0-9_]{0,63}$": "must start with a lower-case letter, then up to 63 lower-case letters, digits or underscores",
  "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$": "must be an HTTP header name: letters, digits and !#$%&'*+.^_`|~-",
  "^[\\w.+-]+/[\\w.+-]+$": "must be a media type like text/plain",
};

const LINE_BREAKS = "[\\r\\n\\x00]";

/** The schema a JSON pointer (Ajv's schemaPath, "#/properties/a/pattern") leads to. */
function at(schema: Schema, pointer: string): Schema | undefined {
  let node: unknown = schema;
  for (const part of pointer.replace(/^#\/?/, "").split("/").filter(Boolean)) {
    const key = part.replace(/~1/g, "/").replace(/~0/g, "~");
    node = node && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined;
  }
  return node && typeof node === "object" ? (node as Schema) : undefined;
}

const parentPath = (schemaPath = "") => schemaPath.slice(0, schemaPath.lastIndexOf("/"));
const sentence = (text: unknown) => (typeof text === "string" ? text.trim().replace(/\.$/, "") : "");

function messageOf(error: RJSFValidationError, schema: Schema): string | undefined {
  const params = (error.params ?? {}) as Record<string, unknown>;
  switch (error.name) {
    case "format":
      return formatMessage([String(params.format)]);
    case "pattern": {
      const known = PATTERN_MESSAGES[String(params.pattern)];
      if (known) return known;
      const field = at(schema, parentPath(error.schemaPath));
      const described = sentence(field?.description) || sentence(field?.title);
      return described ? `must match the format described above: ${described}` : "is not in the expected format";
    }
    case "not": {
      const forbidden = at(schema, error.schemaPath ?? "");
      return forbidden?.pattern === LINE_BREAKS ? "must not contain line breaks or NUL characters" : undefined;
    }
    case "additionalProperties":
    case "unevaluatedProperties": {
      const name = params.additionalProperty ?? params.unevaluatedProperty;
      return `has a field the form does not take: ${String(name)}`;
    }
    default:
      return undefined;
  }
}

/** Ajv's errors in words a person reads, the same in every browser: formats and patterns
 * say what they want, an anyOf of formats (an IPv4 or IPv6 address) says it once. */
export function friendlyErrors(schema: Schema) {
  return (errors: RJSFValidationError[]): RJSFValidationError[] => {
    // anyOf whose failed branches are all formats: one message for the field, not three.
    const formatChoices = new Map<string, string[]>();
    for (const error of errors) {
      if (error.name !== "anyOf" || !error.schemaPath) continue;
      const branches = errors.filter((other) => other !== error && other.schemaPath?.startsWith(`${error.schemaPath}/`));
      if (branches.length > 0 && branches.every((branch) => branch.name === "format")) {
        formatChoices.set(error.schemaPath, branches.map((branch) => String(branch.params?.format)));
      }
    }
    const inChoice = (error: RJSFValidationError) =>
      [...formatChoices.keys()].some((path) => error.schemaPath?.startsWith(`${path}/`));
    return errors
      .filter((error) => !inChoice(error))
      .map((error) => {
        const formats = error.schemaPath ? formatChoices.get(error.schemaPath) : undefined;
        const message = formats ? formatMessage(formats) : messageOf(error, schema);
        return message ? { ...error, message, stack: `${error.property ?? ""} ${message}`.trim() } : error;
      });
  };
}

/** Whether these parameters pass the schema (the button waits until they do). */
export function isValid(schema: Schema, parameters: unknown): boolean {
  return validator.validateFormData(parameters, schema).errors.length === 0;
}
