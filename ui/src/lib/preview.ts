import type { TriggerType } from "../api/types";

export interface Preview {
  title: string;
  text: string;
}

type Resolved = Record<string, unknown>;

const str = (value: unknown): string => (typeof value === "string" ? value : "");

function headerLines(headers: unknown): string {
  if (!headers || typeof headers !== "object") return "";
  return Object.entries(headers as Record<string, unknown>)
    .map(([name, value]) => `${name}: ${String(value)}`)
    .join("\n");
}

function pretty(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

function query(params: unknown): string {
  if (!params || typeof params !== "object") return "";
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params as Record<string, unknown>)) {
    for (const item of Array.isArray(value) ? value : [value]) search.append(name, String(item));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** What the resolved event would put on the wire, as the receiving side would see it. */
export function preview(type: TriggerType, resolved: Resolved): Preview {
  switch (type) {
    case "EMAIL":
      return { title: "Email message (RFC 5322)", text: str(resolved.raw_message) || pretty(resolved) };
    case "WEBHOOK": {
      const line = `${str(resolved.method) || "POST"} ${str(resolved.webhook_url)}${query(resolved.query_params)} HTTP/1.1`;
      const body = resolved.raw_body !== undefined ? str(resolved.raw_body) : pretty(resolved.body ?? "");
      return {
        title: `HTTP request from ${str(resolved.source_ip) || "?"}`,
        text: `${line}\n${headerLines(resolved.headers)}\n\n${body}`,
      };
    }
    case "GITHUB":
      return {
        title: `GitHub delivery: ${str(resolved.event_type)}${resolved.action ? ` (${str(resolved.action)})` : ""}`,
        text: `POST <the trigger's payload URL> HTTP/1.1\n${headerLines(resolved.headers)}\n\n${pretty(resolved.payload)}`,
      };
    case "SLACK":
      return {
        title: `Slack Events API delivery: ${str(resolved.event_type)}`,
        text: `POST <the app's request URL> HTTP/1.1\n${headerLines(resolved.headers)}\n\n${pretty(resolved.payload)}`,
      };
    case "CRON":
      return {
        title: "Scheduled run",
        text: [
          `Schedule:       ${str(resolved.cron_expression)} (${str(resolved.timezone)})`,
          `Stands for:     ${str(resolved.scheduled_time)}`,
          `Fired at:       ${str(resolved.trigger_time)}`,
          `Execution type: ${str(resolved.execution_type)}`,
        ].join("\n"),
      };
    case "MANUAL":
      return { title: "Workflow inputs", text: pretty(resolved.inputs ?? resolved) };
  }
}
