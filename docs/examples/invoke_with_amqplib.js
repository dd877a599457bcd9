// Fire a manual invocation from Node with amqplib and no code of this project, proving who sends
// it both ways the worker accepts (docs/amqp.md, "Who sent it"):
//
//   MTI_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/ node invoke_with_amqplib.js broker
//   MTI_AMQP_URL=... MTI_TOKEN=<JWT of demo-user> node invoke_with_amqplib.js token
//
// `broker`: the validated user_id property (your broker user; a delegate acts for user_id).
// `token`: a bearer JWT in the `authorization` header (its subject must be the body's user_id).
// Prints the InvokeResult; exits 0 when it succeeded. (CommonJS: runs with NODE_PATH too.)
const { randomUUID } = require("node:crypto");
const amqp = require("amqplib");

async function main() {

  const how = process.argv[2] ?? "broker";
  const url = process.env.MTI_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672/";
  const prefix = process.env.MTI_NAMESPACE ? `${process.env.MTI_NAMESPACE}.` : "";
  const invocationId = randomUUID();
  const request = {
    invocation_id: invocationId,
    workflow_id: "wf_demo",
    trigger_id: "trig_webhook_1",
    user_id: "demo-user",
    parameters: { body: { from: "amqplib" } },
    description: `Invoked from Node (${how})`,
    dry_run: false,
    requested_at: new Date().toISOString(),
    source: "amqp",
  };

  const connection = await amqp.connect(url);
  const channel = await connection.createConfirmChannel();
  const answer = new Promise((resolve) => {
    // Direct reply-to: consume the pseudo-queue (no-ack) before publishing on the same channel.
    channel.consume(
      "amq.rabbitmq.reply-to",
      (message) => {
        if (message.properties.correlationId === invocationId) resolve(JSON.parse(message.content));
      },
      { noAck: true },
    );
  });
  const identity =
    how === "token"
      ? { headers: { authorization: `Bearer ${process.env.MTI_TOKEN}` } }
      : { userId: decodeURIComponent(new URL(url).username || "guest") };
  await new Promise((resolve, reject) =>
    channel.publish(
      `${prefix}manual-trigger.invoke`,
      "invoke",
      Buffer.from(JSON.stringify(request)),
      {
        contentType: "application/json",
        persistent: true,
        mandatory: true,
        messageId: invocationId,
        correlationId: invocationId,
        replyTo: "amq.rabbitmq.reply-to",
        ...identity,
      },
      (error) => (error ? reject(error) : resolve()),
    ),
  );
  const timeout = new Promise((resolve) => setTimeout(() => resolve(null), 10_000));
  const result = await Promise.race([answer, timeout]);
  await connection.close();
  if (result === null) {
    console.error(`no answer within 10 s; invocation ${invocationId} stays queued`);
    process.exit(1);
  }
  console.log(JSON.stringify(result, null, 2));
  process.exit(result.success ? 0 : 1);
}

main().catch((error) => {
  console.error(error);
  process.exit(2);
});
