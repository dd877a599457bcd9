import type { ErrorSchema } from "@rjsf/utils";
import type { FieldError } from "../api/types";

export function pointerSegments(pointer: string): string[] {
  if (!pointer) return [];
  return pointer
    .split("/")
    .slice(1)
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"));
}

export interface MappedErrors {
  /** Errors under /parameters, shaped for the form (rjsf's ErrorSchema). */
  fields: ErrorSchema;
  /** Errors about the request's other members, by member: description, dry_run. */
  request: Record<string, string[]>;
  /** Errors with no field to sit next to (the whole body, or the request as a whole). */
  general: string[];
}

/**
 * Put the API's JSON-pointer errors next to the fields they name. A pointer into a field
 * edited as raw JSON stops at that field, and says where inside it the problem is.
 */
export function mapApiErrors(errors: FieldError[], jsonFields: ReadonlySet<string>): MappedErrors {
  const mapped: MappedErrors = { fields: {}, request: {}, general: [] };
  for (const error of errors) {
    const [member, ...rest] = pointerSegments(error.path);
    if (member === "parameters" && rest.length > 0) {
      let path = rest;
      let message = error.message;
      const jsonAt = path.findIndex((_, i) => jsonFields.has(path.slice(0, i + 1).join("/")));
      if (jsonAt >= 0 && jsonAt < path.length - 1) {
        message = `${path.slice(jsonAt + 1).join("/")}: ${message}`;
        path = path.slice(0, jsonAt + 1);
      }
      let node = mapped.fields as Record<string, unknown>;
      for (const segment of path) {
        node[segment] ??= {};
        node = node[segment] as Record<string, unknown>;
      }
      ((node.__errors ??= []) as string[]).push(message);
    } else if (member && member !== "parameters") {
      (mapped.request[member] ??= []).push(error.message);
    } else {
      mapped.general.push(error.path ? `${error.path}: ${error.message}` : error.message);
    }
  }
  return mapped;
}
