import type { Response } from "express";

/** OpenAI's error body, which its SDKs parse into `APIError` (status, code, param, type). */
export interface OpenAIErrorBody {
  error: { message: string; type: string; code: string; param: string | null };
}

/** Marks a response so the error handler answers in OpenAI's shape rather than the native one. */
export function useOpenAIErrors(res: Response): void {
  res.locals.errorShape = "openai";
}

export const wantsOpenAIErrors = (res: Response) => res.locals.errorShape === "openai";

/** The `type` OpenAI gives each class of status. */
function typeFor(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  // OpenAI answers an unknown model or route as a request error too.
  if (status === 404) return "invalid_request_error";
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

interface Issue {
  path: string;
  message: string;
}

const isIssues = (d: unknown): d is Issue[] =>
  Array.isArray(d) && d.every((i) => typeof i?.path === "string" && typeof i?.message === "string");

/**
 * The gateway's stable code is kept as `code`; validation issues, which the native shape lists in
 * `details`, are folded into the message and the first one names `param`, as OpenAI does.
 */
export function openaiErrorBody(
  status: number,
  code: string,
  message: string,
  details?: unknown,
): OpenAIErrorBody {
  let param: string | null = null;
  let text = message;
  if (isIssues(details) && details.length > 0) {
    const named = details.find((i) => i.path !== "(body)");
    param = named?.path ?? null;
    text = `${message}: ${details.map((i) => `${i.path}: ${i.message}`).join("; ")}`;
  } else if (typeof (details as { param?: unknown } | undefined)?.param === "string") {
    param = (details as { param: string }).param;
  }
  return { error: { message: text, type: typeFor(status), code, param } };
}
