import { useState } from "preact/hooks";
import { describeError, request } from "../api";
import { dateTime } from "../format";
import { usePolling } from "../hooks";

/** One entry of `GET /v1/admin/deliveries?state=exhausted` (issue #19). */
export interface DeadLetter {
  webhook_id: string;
  job_id: string;
  event: string;
  owner: string;
  url: string;
  ended_at: string;
  attempts: number;
  redelivery: number;
  error: string | null;
}

/**
 * The admin screen's dead letters: webhook deliveries that ended unaccepted, newest first, each with a
 * Redeliver button (same webhook-id, the payload as first sent, signed with the owner's current secret).
 */
export function DeadLetters() {
  const [letters, setLetters] = useState<DeadLetter[] | null>(null);
  const [version, setVersion] = useState(0);
  const [message, setMessage] = useState("");
  const [error, setError] = useState("");
  const listError = usePolling(
    async () => {
      setLetters(
        (await request<{ data: DeadLetter[] }>("/v1/admin/deliveries?state=exhausted&limit=50")).data,
      );
    },
    30_000,
    [version],
  );

  const redeliver = async (d: DeadLetter) => {
    setError("");
    setMessage("");
    try {
      const path = `/v1/jobs/${encodeURIComponent(d.job_id)}/deliveries/${encodeURIComponent(d.event)}/redeliver`;
      const r = await request<{ webhook_id: string; redelivery: number }>(path, { method: "POST" });
      setMessage(`${r.webhook_id} queued again (redelivery ${r.redelivery})`);
      setVersion((v) => v + 1);
    } catch (err) {
      setError(describeError(err));
    }
  };

  return (
    <>
      <h2>Webhook dead letters</h2>
      {(error || listError) && <p role="alert">{error || listError}</p>}
      {message && <p role="status">{message}</p>}
      {letters?.length === 0 && <p class="muted">No webhook delivery has ended unaccepted.</p>}
      {letters && letters.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption>Deliveries that ended unaccepted, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Ended</th>
                <th scope="col">Job</th>
                <th scope="col">Event</th>
                <th scope="col">Owner</th>
                <th scope="col">URL</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last error</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {letters.map((d) => (
                <tr key={d.webhook_id} data-webhook-id={d.webhook_id}>
                  <td>{dateTime(d.ended_at)}</td>
                  <th scope="row">
                    <code>{d.job_id}</code>
                  </th>
                  <td>{d.event}</td>
                  <td>
                    <code>{d.owner}</code>
                  </td>
                  <td class="small">{d.url}</td>
                  <td>{d.redelivery > 0 ? `${d.attempts} (redelivery ${d.redelivery})` : d.attempts}</td>
                  <td>{d.error ?? "—"}</td>
                  <td>
                    <button
                      type="button"
                      class="ghost"
                      onClick={() => redeliver(d)}
                      aria-label={`Redeliver ${d.event} of ${d.job_id}`}
                    >
                      Redeliver
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
