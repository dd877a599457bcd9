import { useEffect, useState } from "react";

interface Props {
  text: string;
  /** What is copied, for the button's name: "Copy <what>". */
  what: string;
}

/** Puts `text` on the clipboard and says so, on the button and to screen readers. */
export function CopyButton({ text, what }: Props) {
  const [outcome, setOutcome] = useState<"idle" | "copied" | "failed">("idle");
  useEffect(() => {
    if (outcome !== "copied") return;
    const timer = setTimeout(() => setOutcome("idle"), 2500);
    return () => clearTimeout(timer);
  }, [outcome]);

  const copy = async () => {
    try {
      // navigator.clipboard is missing on an insecure origin: that is a failure too.
      await navigator.clipboard.writeText(text);
      setOutcome("copied");
    } catch {
      setOutcome("failed");
    }
  };

  return (
    <span className="copy-button">
      <button type="button" className="secondary small" onClick={() => void copy()}>
        {outcome === "copied" ? "Copied" : "Copy"}{" "}
        <span className="visually-hidden">{what}</span>
        {outcome === "copied" ? <span aria-hidden="true"> ✓</span> : null}
      </button>
      <span role="status" className={outcome === "failed" ? "hint text-danger" : "visually-hidden"}>
        {outcome === "copied" ? `Copied ${what} to the clipboard.` : outcome === "failed" ? "No clipboard here: select the text instead." : ""}
      </span>
    </span>
  );
}
