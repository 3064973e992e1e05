import { GatewayError } from "@zimage/core";
import type { RequestHandler } from "express";
import multer from "multer";

/**
 * Multipart parsing for edit jobs: memory storage (the file is probed and written to storage
 * before queueing), one file, bounded sizes for the file and the text fields. The file is accepted
 * under any of `fields` (OpenAI's clients send `image[]` for a list) and is left in `req.file`.
 */
export function imageUpload(maxFileBytes: number, fields: string[] = ["image"]): RequestHandler {
  const parse = multer({
    storage: multer.memoryStorage(),
    limits: {
      fileSize: maxFileBytes,
      files: fields.length,
      fields: 20,
      fieldSize: 64 * 1024,
      parts: 24,
      headerPairs: 100,
    },
  }).fields(fields.map((name) => ({ name, maxCount: 1 })));

  return (req, res, next) => {
    // busboy reads the bytes as they come and knows no Content-Encoding: a compressed form would be
    // misparsed as a malformed one. Refused by name instead (images are compressed already).
    const encoding = (req.headers["content-encoding"] ?? "identity").trim().toLowerCase();
    if (encoding !== "identity") {
      return next(
        new GatewayError(
          "unsupported_media_type",
          "multipart uploads must not be sent with a Content-Encoding; send the form uncompressed",
        ),
      );
    }
    parse(req, res, (err: unknown) => {
      if (!err) {
        const files = Object.values((req.files ?? {}) as Record<string, Express.Multer.File[]>).flat();
        if (files.some((f) => f.fieldname === "mask")) {
          return next(
            new GatewayError(
              "invalid_request",
              "masks are not supported: the Z-Image server edits the whole image",
              {
                param: "mask",
              },
            ),
          );
        }
        if (files.length > 1) {
          return next(
            new GatewayError("invalid_request", `send exactly one file, in the "${fields[0]}" field`),
          );
        }
        req.file = files[0];
        return next();
      }
      if (err instanceof multer.MulterError) {
        if (err.code === "LIMIT_FILE_SIZE") {
          return next(
            new GatewayError("payload_too_large", `the image is larger than ${maxFileBytes} bytes`),
          );
        }
        const message =
          err.code === "LIMIT_UNEXPECTED_FILE" || err.code === "LIMIT_FILE_COUNT"
            ? `send exactly one file, in the "${fields[0]}" field`
            : `multipart limit exceeded: ${err.message}`;
        return next(new GatewayError("invalid_request", message, { multer: err.code, field: err.field }));
      }
      // busboy's parse errors (malformed boundary, truncated body) are the client's mistake.
      next(new GatewayError("invalid_request", `malformed multipart body: ${(err as Error).message}`));
    });
  };
}
