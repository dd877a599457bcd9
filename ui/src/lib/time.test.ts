/// <reference types="vite/client" />
import { formatTimestamp } from "./time";

const AT = "2026-11-26T14:05:09.250Z";

test("a time is written as the locale writes it, 24-hour where it says so, always with its zone", () => {
  expect(formatTimestamp(AT, { locales: ["en-GB"], timeZone: "UTC" })).toBe("26 Nov 2026, 14:05:09 UTC");
  expect(formatTimestamp(AT, { locales: ["de-DE"], timeZone: "Europe/Berlin" })).toBe("26. Nov. 2026, 15:05:09 MEZ");
  expect(formatTimestamp(AT, { locales: ["en-US"], timeZone: "America/New_York" })).toBe("Nov 26, 2026, 09:05:09 AM EST");
  expect(formatTimestamp(AT, { precise: true, locales: ["en-GB"], timeZone: "UTC" })).toBe("26 Nov 2026, 14:05:09.250 UTC");
});

test("by default in the reader's languages, the first one first", () => {
  vi.spyOn(navigator, "languages", "get").mockReturnValue(["de-DE", "en-US"]);
  try {
    expect(formatTimestamp(AT, { timeZone: "UTC" })).toBe("26. Nov. 2026, 14:05:09 UTC");
  } finally {
    vi.restoreAllMocks();
  }
});

test("no shown time is formatted without the reader's locales", async () => {
  // One formatter for every timestamp: no toLocaleString() or bare Intl.DateTimeFormat elsewhere.
  const sources = import.meta.glob(["../**/*.{ts,tsx}", "!../**/*.test.{ts,tsx}", "!./time.ts"], { query: "?raw", import: "default", eager: true });
  for (const [path, text] of Object.entries(sources)) {
    expect([path, /toLocale(String|DateString|TimeString)\(|Intl\.DateTimeFormat/.test(text as string)]).toEqual([path, false]);
  }
});
