import type { DeadLetter, DeliveryAttempt, WebhookEvent, ZImageGateway } from "@zimage/sdk";
import { EXIT, UsageError } from "./exit-codes";
import { print, table } from "./output";

/** `zimage deliveries ID`, `zimage redeliver ID EVENT` and `zimage dead-letters` (issue #19). */

const EVENTS = ["queued", "running", "succeeded", "failed", "canceled"];

const when = (iso: string) => iso.slice(0, 19).replace("T", " ");

const attemptLine = (a: DeliveryAttempt) => [
  a.event,
  a.redelivery > 0 ? `${a.attempt} (redelivery ${a.redelivery})` : String(a.attempt),
  when(a.at),
  a.status_code === null ? "-" : String(a.status_code),
  a.error ?? "delivered",
  a.next_retry_at ? `retry ${when(a.next_retry_at)}` : "",
];

export async function showDeliveries(
  client: ZImageGateway,
  id: string | undefined,
  json?: boolean,
): Promise<number> {
  if (!id) throw new UsageError("usage: zimage deliveries ID");
  const attempts = await client.deliveries(id);
  print(json, attempts, () =>
    attempts.length === 0
      ? "no webhook deliveries\n"
      : table([["EVENT", "ATTEMPT", "AT", "STATUS", "RESULT", "NEXT"], ...attempts.map(attemptLine)]),
  );
  return EXIT.ok;
}

export async function redeliver(client: ZImageGateway, args: string[], json?: boolean): Promise<number> {
  const [id, raw] = args;
  const event = raw?.replace(/^job\./, "");
  if (!id || !event) throw new UsageError("usage: zimage redeliver ID EVENT (EVENT: succeeded, failed, …)");
  if (!EVENTS.includes(event)) throw new UsageError(`EVENT must be one of ${EVENTS.join(", ")}`);
  const r = await client.redeliver(id, event as WebhookEvent);
  print(
    json,
    r,
    () => `${r.webhook_id} queued again (redelivery ${r.redelivery}, was ${r.previous_state})\n`,
  );
  return EXIT.ok;
}

const letterLine = (d: DeadLetter) => [
  when(d.ended_at),
  d.job_id,
  d.event,
  d.owner,
  String(d.attempts),
  d.error ?? "",
];

export async function listDeadLetters(
  client: ZImageGateway,
  flags: { limit?: string | undefined; json?: boolean | undefined },
): Promise<number> {
  const limit = flags.limit === undefined ? 20 : Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new UsageError("--limit must be 1-100");
  const page = await client.deadLetters({ limit });
  print(flags.json, page, () =>
    page.data.length === 0
      ? "no dead letters\n"
      : table([["ENDED", "JOB", "EVENT", "OWNER", "ATTEMPTS", "ERROR"], ...page.data.map(letterLine)]),
  );
  return EXIT.ok;
}
