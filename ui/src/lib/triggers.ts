import type { Trigger } from "../api/types";

const text = (value: unknown): string | null =>
  typeof value === "string" && value ? value : null;

/** A name a person recognises: the platform's own, else one from what the trigger listens to. */
export function triggerName(trigger: Trigger): string {
  const c = trigger.config;
  const own = trigger.name ?? text(c.name);
  if (own) return own;
  switch (trigger.type) {
    case "CRON":
      return `Schedule ${text(c.schedule) ?? ""}${c.timezone ? ` (${text(c.timezone)})` : ""}`.trim();
    case "WEBHOOK":
      return `Webhook ${text(c.method) ?? "POST"} ${text(c.webhook_url) ?? ""}`.trim();
    case "EMAIL":
      return `Email to ${text(c.email_address) ?? "mailbox"}`;
    case "GITHUB":
      return `GitHub ${text(c.repository) ?? "repository"}`;
    case "SLACK":
      return `Slack ${text(c.workspace_id) ?? "workspace"}`;
    case "MANUAL":
      return "Manual run";
  }
}

export const defaultDescription = (trigger: { type: string }): string =>
  `Manual test of ${trigger.type} trigger`;
