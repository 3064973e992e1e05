import { z } from "zod";

/** The JSON Schema of a zod schema, as a request (`input`) or a response (`output`) sees it. */
export const json = (schema: z.ZodType, io: "input" | "output") => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, {
    target: "draft-2020-12",
    io,
    unrepresentable: "any",
  }) as Record<string, unknown>;
  return rest;
};

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const error = (description: string) => ({
  description,
  content: { "application/json": { schema: ref("ErrorBody") } },
});
export const jsonBody = (schema: object, description: string) => ({
  description,
  content: { "application/json": { schema } },
});
export const authErrors = {
  "401": error("No, malformed, unknown or revoked API key (`unauthorized`, `invalid_api_key`)"),
  "503": error("Redis is unreachable (`service_unavailable`, with Retry-After)"),
};
