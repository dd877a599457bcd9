// Every time the panel shows goes through here: the reader's own way of writing dates and times
// (their languages in order, `navigator.languages`; 24-hour where the locale says so), always
// with the time zone, so that a time read out loud or pasted elsewhere is not ambiguous.

/** The reader's languages, most preferred first (the browser's default where unknown). */
export function readerLocales(): string[] | undefined {
  const languages = typeof navigator === "undefined" ? undefined : navigator.languages;
  return languages && languages.length ? [...languages] : undefined;
}

export interface TimeOptions {
  /** To the millisecond (an execution's steps are often less than a second apart). */
  precise?: boolean;
  /** Fixed in tests; the reader's languages otherwise. */
  locales?: string[];
  /** Fixed in tests; the reader's own zone otherwise. */
  timeZone?: string;
}

/** "26 Nov 2026, 03:00:00 CET", "Nov 26, 2026, 03:00:00 AM GMT+1", …; an unreadable value as it is. */
export function formatTimestamp(iso: string, { precise = false, locales, timeZone }: TimeOptions = {}): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(locales ?? readerLocales(), {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    ...(precise ? { fractionalSecondDigits: 3 as const } : {}),
    timeZoneName: "short",
    timeZone,
  }).format(date);
}
