/**
 * A one-line message for a non-2xx answer. The server's error bodies are unspecified, so this
 * tries the usual shapes in turn: FastAPI `{"detail": ...}` (a string, or a list of validation
 * issues), `{"error": {"message"}}` (OpenAI style), `{"message"}`, `{"error": "..."}`, then the raw text.
 */
export function errorMessage(status: number, text: string): string {
  const trimmed = text.trim();
  let detail: string | undefined;
  if (trimmed.startsWith("{") || trimmed.startsWith("[") || trimmed.startsWith('"')) {
    try {
      detail = pickMessage(JSON.parse(trimmed));
    } catch {
      // Not JSON after all: fall through to the raw text.
    }
  }
  if (detail === undefined && trimmed !== "" && !/^<(!doctype|html)/i.test(trimmed)) detail = trimmed;
  const line = detail?.replace(/\s+/g, " ").trim();
  if (!line) return `upstream answered HTTP ${status}`;
  return `upstream answered HTTP ${status}: ${line.length > 300 ? `${line.slice(0, 300)}…` : line}`;
}

function pickMessage(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (v.detail !== undefined) return describeDetail(v.detail);
  const error = v.error;
  if (typeof error === "object" && error !== null) {
    const message = (error as Record<string, unknown>).message;
    if (typeof message === "string") return message;
  }
  if (typeof v.message === "string") return v.message;
  if (typeof error === "string") return error;
  return undefined;
}

function describeDetail(detail: unknown): string {
  if (typeof detail === "string") return detail;
  // FastAPI validation errors: [{"loc": ["body", "size"], "msg": "...", "type": "..."}]
  if (Array.isArray(detail)) {
    return detail
      .map((issue) => {
        if (typeof issue !== "object" || issue === null) return String(issue);
        const { loc, msg } = issue as { loc?: unknown; msg?: unknown };
        const where = Array.isArray(loc) ? loc.join(".") : undefined;
        const what = typeof msg === "string" ? msg : JSON.stringify(issue);
        return where ? `${where}: ${what}` : what;
      })
      .join("; ");
  }
  return pickMessage(detail) ?? JSON.stringify(detail);
}
