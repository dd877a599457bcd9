// The panel and the worker agree on every format case: contracts/formats/cases.json is the
// shared list (the worker's tests run the same file).
import cases from "../../../contracts/formats/cases.json";
import { formatMessage } from "./formats";
import { friendlyErrors, isValid, validator } from "./validator";

const grammars = Object.entries(cases).filter(([name]) => !name.startsWith("$")) as [
  string,
  { valid: string[]; invalid: string[] },
][];

test("the case file names the formats the schemas declare", () => {
  expect(grammars.map(([name]) => name).sort()).toEqual(["base64", "ipv4", "ipv6", "iso-date-time", "mailbox"]);
});

describe.each(grammars)("%s", (format, { valid, invalid }) => {
  const schema = { type: "string", format };
  test.each(valid)("accepts %j", (value) => expect(isValid(schema, value)).toBe(true));
  test.each(invalid)("refuses %j", (value) => expect(isValid(schema, value)).toBe(false));
});

/** The messages the form shows beside a field holding this value. */
function messages(schema: Record<string, unknown>, value: unknown): string[] {
  const { errors } = validator.validateFormData({ field: value }, { type: "object", properties: { field: schema } }, undefined, friendlyErrors({ type: "object", properties: { field: schema } }));
  return errors.map((error) => error.message ?? "");
}

test("each format says what it wants, in words", () => {
  expect(messages({ type: "string", format: "iso-date-time" }, "next tuesday")).toEqual([
    "must be a date and time like 2026-03-02T09:00:00+01:00",
  ]);
  expect(messages({ type: "string", format: "mailbox" }, "not an email")).toEqual([
    "must be an email address like Alice <alice@example.com>",
  ]);
  expect(messages({ type: "string", format: "base64" }, "QQ=")).toEqual(["must be base64 (RFC 4648, padded)"]);
  // An address that may be either: one message, not one per branch and one for the anyOf.
  expect(messages({ type: "string", anyOf: [{ format: "ipv4" }, { format: "ipv6" }] }, "localhost")).toEqual([
    "must be an IPv4 or IPv6 address",
  ]);
  expect(formatMessage(["ipv6", "ipv4"])).toBe("must be an IPv4 or IPv6 address");
});

test("a pattern is explained, never shown", () => {
  const known = messages({ type: "string", pattern: "^[0-9a-f]{4,40}$" }, "XYZ");
  expect(known).toEqual(["must be a commit SHA: 4 to 40 hex digits (0-9, a-f)"]);
  const described = messages({ type: "string", pattern: "^\\d+\\.\\d+$", description: "A version like 1.2." }, "x");
  expect(described).toEqual(["must match the format described above: A version like 1.2"]);
  const bare = messages({ type: "string", pattern: "^\\d+$" }, "x");
  expect(bare).toEqual(["is not in the expected format"]);
  for (const message of [...known, ...described, ...bare]) expect(message).not.toMatch(/[\^$\\[\]]/);
  expect(messages({ type: "string", not: { pattern: "[\\r\\n\\x00]" } }, "a\nb")).toEqual([
    "must not contain line breaks or NUL characters",
  ]);
});
