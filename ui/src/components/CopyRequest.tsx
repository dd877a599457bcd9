import { useState } from "react";
import type { InvokeBody } from "../api/types";
import { asAmqpMessage, asCli, asCurl, type RequestTarget } from "../lib/commands";

type Format = "curl" | "CLI" | "AMQP message";
const FORMATS: Format[] = ["curl", "CLI", "AMQP message"];

interface Props {
  target: RequestTarget;
  body: InvokeBody;
}

/** "Copy as curl / CLI / AMQP message" of exactly the request the button would send. */
export function CopyRequest({ target, body }: Props) {
  const [copied, setShown] = useState<{ format: Format; text: string; copied: boolean; of: string } | null>(null);
  // A command shown is of the request as it was then: gone once the request changes.
  const current = JSON.stringify([target, body]);
  const shown = copied?.of === current ? copied : null;

  const copy = async (format: Format) => {
    const text =
      format === "curl"
        ? asCurl(target, body)
        : format === "CLI"
          ? asCli(target, body)
          : asAmqpMessage(target, body, crypto.randomUUID(), new Date());
    let copied = false;
    try {
      await navigator.clipboard.writeText(text);
      copied = true;
    } catch {
      // No clipboard (an insecure origin, or permission refused): the text is shown to select.
    }
    setShown({ format, text, copied, of: current });
  };

  return (
    <div className="copy-request">
      <div className="button-row">
        {FORMATS.map((format) => (
          <button key={format} type="button" className="secondary" onClick={() => void copy(format)}>
            Copy as {format}
          </button>
        ))}
      </div>
      {shown ? (
        <div>
          <p role="status" className="hint">
            {shown.copied
              ? `The ${shown.format} is on the clipboard.`
              : `Select and copy the ${shown.format} below.`}
            {shown.format === "curl" ? " It reads the token from $TOKEN." : ""}
          </p>
          <pre tabIndex={0} aria-label={`Request as ${shown.format}`} className="command">
            {shown.text}
          </pre>
        </div>
      ) : null}
    </div>
  );
}
