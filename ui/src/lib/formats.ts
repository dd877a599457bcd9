// The string formats the parameter schemas declare, checked exactly as the worker checks them
// (contracts/validation.py): contracts/formats/cases.json pins each grammar, and both sides'
// tests run every case of it. ipv4 and ipv6 replace ajv-formats' own, which accept what
// Python's ipaddress refuses (01.2.3.4).

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(?:[Zz]|[+-](\d{2}):(\d{2}))?$/;

const daysIn = (year: number, month: number) =>
  month === 2 ? (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;

/** `YYYY-MM-DD`, `T` or one space, `HH:MM`, optional `:SS` with 1 to 6 fractional digits, an
 * optional offset (`Z`, `z`, `±HH:MM` with HH at most 23). The date and time must exist (a
 * year from 1, as Python's datetime has). */
export function isIsoDateTime(value: string): boolean {
  const match = DATE_TIME.exec(value);
  if (!match) return false;
  const [y, mo, d, h, mi, s = 0, oh = 0, om = 0] = match.slice(1).map((part) => Number(part ?? 0));
  return y >= 1 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysIn(y, mo) && h <= 23 && mi <= 59 && s <= 59 && oh <= 23 && om <= 59;
}

// The worker's whitespace: Python's str.isspace() characters (contracts/regex.py), which are not
// quite JavaScript's \s (that has U+FEFF and lacks U+001C-U+001F and U+0085).
const SPACE = "\\t\\n\\v\\f\\r \\x1c-\\x1f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const ADDRESS = `[^@<>${SPACE}]+@[^@<>${SPACE}]+\\.[^@<>${SPACE}]+`;
// A bare address, or one in angle brackets after a display name (quoted or not) without an
// angle bracket or a line break.
const MAILBOX = new RegExp(`^(?:${ADDRESS}|[^<>\\r\\n]*<${ADDRESS}>)$`);

/** A mailbox: `address` or `Display Name <address>` (or `<address>`). */
export const isMailbox = (value: string): boolean => MAILBOX.test(value);

/** Base64 of RFC 4648 §4: the standard alphabet, padded to a multiple of 4, nothing else. */
export const isBase64 = (value: string): boolean =>
  /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(value);

const OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);

/** Dotted-quad IPv4, no leading zeros. */
export const isIpv4 = (value: string): boolean => IPV4.test(value);

/** IPv6 as RFC 4291 writes it: eight groups of 1 to 4 hex digits, one "::" standing for at
 * least one group of zeros, the last 32 bits possibly as IPv4; no zone (%eth0). */
export function isIpv6(value: string): boolean {
  if (!/^[0-9A-Fa-f:.]+$/.test(value)) return false;
  const halves = value.split("::");
  if (halves.length > 2) return false;
  const groups = halves.flatMap((half) => (half === "" ? [] : half.split(":")));
  const last = groups[groups.length - 1] ?? "";
  const ipv4 = last.includes(".");
  if (ipv4 && !isIpv4(last)) return false;
  const hextets = ipv4 ? groups.slice(0, -1) : groups;
  if (!hextets.every((group) => /^[0-9A-Fa-f]{1,4}$/.test(group))) return false;
  const count = hextets.length + (ipv4 ? 2 : 0);
  return halves.length === 2 ? count <= 7 : count === 8;
}

/** The formats the panel adds to Ajv (customizeValidator's customFormats). */
export const CUSTOM_FORMATS: Record<string, (value: string) => boolean> = {
  "iso-date-time": isIsoDateTime,
  mailbox: isMailbox,
  base64: isBase64,
  ipv4: isIpv4,
  ipv6: isIpv6,
};

/** What a value of each format must be, said to the person typing it. */
export const FORMAT_MESSAGES: Record<string, string> = {
  "iso-date-time": "must be a date and time like 2026-03-02T09:00:00+01:00",
  mailbox: "must be an email address like Alice <alice@example.com>",
  base64: "must be base64 (RFC 4648, padded)",
  ipv4: "must be an IPv4 address like 203.0.113.9",
  ipv6: "must be an IPv6 address like 2001:db8::1",
  "ipv4|ipv6": "must be an IPv4 or IPv6 address",
  "date-time": "must be a date and time like 2026-03-02T09:00:00Z",
  email: "must be an email address like alice@example.com",
  uri: "must be an absolute URL like https://example.com/",
};

/** The message for a value that matches none of these formats (an anyOf of formats). */
export function formatMessage(formats: string[]): string {
  const key = [...new Set(formats)].sort().join("|");
  return FORMAT_MESSAGES[key] ?? formats.map((format) => FORMAT_MESSAGES[format] ?? `must be a valid ${format}`).join(", or ");
}
