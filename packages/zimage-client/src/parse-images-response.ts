import { UpstreamProtocolError } from "./errors";
import type { ImageData, ImagesResponse } from "./types";

/**
 * Checks `{"created": number, "data": [{b64_json | url, revised_prompt?}, ...]}` by hand (the shape
 * is small) and returns a copy with only the known fields. Python servers send `null` for unset
 * optional fields, so null counts as absent.
 */
export function parseImagesResponse(value: unknown, upstreamUrl: string): ImagesResponse {
  const fail = (why: string) =>
    new UpstreamProtocolError(`upstream images response is malformed: ${why}`, { upstreamUrl });
  if (!isRecord(value)) throw fail("not a JSON object");
  const { created, data } = value;
  if (typeof created !== "number" || !Number.isFinite(created)) throw fail("`created` is not a number");
  if (!Array.isArray(data)) throw fail("`data` is not an array");
  if (data.length === 0) throw fail("`data` is empty");
  return {
    created,
    data: data.map((item, i): ImageData => {
      if (!isRecord(item)) throw fail(`data[${i}] is not an object`);
      const image: ImageData = {};
      for (const field of ["b64_json", "url", "revised_prompt"] as const) {
        const v = item[field];
        if (v === undefined || v === null) continue;
        if (typeof v !== "string") throw fail(`data[${i}].${field} is not a string`);
        image[field] = v;
      }
      if (!image.b64_json && !image.url) throw fail(`data[${i}] has neither b64_json nor url`);
      return image;
    }),
  };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
