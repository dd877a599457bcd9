import type { InvokeBody } from "../api/types";

export interface RequestTarget {
  /** Absolute base of the shim, e.g. https://mti.example.com */
  origin: string;
  workflowId: string;
  triggerId: string;
  user: string | null;
}

/** A word for a POSIX shell, single-quoted unless it needs none. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export function invokeUrl(t: RequestTarget): string {
  const path = `/api/v1/workflows/${encodeURIComponent(t.workflowId)}/triggers/${encodeURIComponent(t.triggerId)}/manual-invoke`;
  return new URL(path, t.origin).toString();
}

/** curl, with the token left in $TOKEN: a copied command must not carry a credential. */
export function asCurl(t: RequestTarget, body: InvokeBody): string {
  return [
    `curl -sS -X POST ${shellQuote(invokeUrl(t))}`,
    `  -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json'`,
    `  --data-binary ${shellQuote(JSON.stringify(body))}`,
  ].join(" \\\n");
}

/** The CLI publishes straight to RabbitMQ as --user (checked by the worker like a token). */
export function asCli(t: RequestTarget, body: InvokeBody): string {
  const args = [
    "manual-trigger invoke",
    shellQuote(t.workflowId),
    shellQuote(t.triggerId),
    `--user ${t.user ? shellQuote(t.user) : '"$USER"'}`,
    "--params-file -",
    `--description ${shellQuote(body.description ?? "")}`,
  ];
  if (body.dry_run) args.push("--dry-run");
  return `echo ${shellQuote(JSON.stringify(body.parameters))} | \\\n  ${args.join(" ")}`;
}

/** The message a script publishes itself (docs/amqp.md): where to, and the body. */
export function asAmqpMessage(
  t: RequestTarget,
  body: InvokeBody,
  invocationId: string,
  now: Date,
): string {
  const message = {
    exchange: "manual-trigger.invoke (prefixed with MTI_NAMESPACE and a dot when one is set)",
    routing_key: "invoke",
    properties: {
      content_type: "application/json",
      delivery_mode: 2,
      message_id: invocationId,
      reply_to: "amq.rabbitmq.reply-to",
      correlation_id: invocationId,
    },
    body: {
      invocation_id: invocationId,
      workflow_id: t.workflowId,
      trigger_id: t.triggerId,
      user_id: t.user,
      parameters: body.parameters,
      description: body.description,
      dry_run: body.dry_run,
      requested_at: now.toISOString(),
      source: "cli",
      idempotency_key: null,
    },
  };
  return JSON.stringify(message, null, 2);
}
