import type { InvokeAnswer, WirePreview } from "../api/types";

/** What the resolved event would put on the wire, as the receiving side would see it: the
 * shim's own `wire_preview`, or (an answer without one, e.g. a polled status) its JSON. */
export function preview(answer: InvokeAnswer): WirePreview | null {
  const data = answer.trigger_data;
  if (!data) return null;
  return answer.wire_preview ?? { title: "Event", text: JSON.stringify(data.resolved_parameters, null, 2) };
}
