import type { RJSFValidationError } from "@rjsf/utils";
import { customizeValidator } from "@rjsf/validator-ajv8";
import Ajv2020 from "ajv/dist/2020";

/** The trigger schemas are JSON Schema 2020-12 (contracts/), so the form validates with it. */
export const validator = customizeValidator({ AjvClass: Ajv2020 });

/** Say what the shim's safety rules mean instead of Ajv's generic words. */
export function transformErrors(errors: RJSFValidationError[]): RJSFValidationError[] {
  return errors.map((error) =>
    error.name === "not" ? { ...error, message: "must not contain line breaks or NUL characters" } : error,
  );
}
