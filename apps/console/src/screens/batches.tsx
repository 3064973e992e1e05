import { useEffect, useState } from "preact/hooks";
import { ApiError, describeError, request } from "../api";
import { usePolling } from "../hooks";
import type { BatchView } from "../types";

const SIZES = ["512x512", "768x768", "1024x1024", "1024x768", "768x1024"];
/** As the gateway's BATCH_MAX_JOBS default; the gateway has the last word (a 400 says its limit). */
const MAX_PROMPTS = 1000;
const ENDED = new Set(["completed", "canceled"]);

interface BatchList {
  data: BatchView[];
  next_cursor: string | null;
  has_more: boolean;
}

const batchesApi = {
  list: () => request<BatchList>("/v1/batches?limit=20"),
  get: (id: string) => request<BatchView>(`/v1/batches/${encodeURIComponent(id)}?limit=100`),
  create: (body: Record<string, unknown>) =>
    request<BatchView & { job_ids: string[] }>("/v1/batches", { method: "POST", body }),
  cancel: (id: string) =>
    request<BatchView & { canceled_jobs: number }>(`/v1/batches/${encodeURIComponent(id)}/cancel`, {
      method: "POST",
    }),
};

/** `#/batches/<id>` selects a batch; `#/batches` shows the form and the list. */
const selectedId = () => /^#\/batches\/([\w-]+)$/.exec(location.hash)?.[1] ?? null;

function useSelectedBatch(): string | null {
  const [id, setId] = useState(selectedId);
  useEffect(() => {
    const onChange = () => setId(selectedId());
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  return id;
}

/** Where a prompt list line went wrong: the gateway names it `prompts.<index>`. */
function describeBatchError(err: unknown): string {
  if (!(err instanceof ApiError) || err.details.length === 0) return describeError(err);
  return err.details
    .map((d) => {
      const m = /^prompts\.(\d+)$/.exec(d.path);
      return m
        ? `Line ${Number(m[1]) + 1}: ${d.message}`
        : `${d.path === "prompts" ? "Prompts" : d.path}: ${d.message}`;
    })
    .join(" · ");
}

/** Batches: submit a prompt list (one job per line) and follow a batch's progress. */
export function BatchesScreen({ onNotice }: { onNotice: (msg: string) => void }) {
  const id = useSelectedBatch();
  return id ? <BatchProgress id={id} onNotice={onNotice} /> : <BatchForm onNotice={onNotice} />;
}

function BatchForm({ onNotice }: { onNotice: (msg: string) => void }) {
  const [text, setText] = useState("");
  const [size, setSize] = useState("1024x1024");
  const [steps, setSteps] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const [batches, setBatches] = useState<BatchView[] | null>(null);
  const listError = usePolling(async () => setBatches((await batchesApi.list()).data), 3000);
  const prompts = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");

  const submit = async (e: Event) => {
    e.preventDefault();
    if (prompts.length === 0) return setError("Write at least one prompt, one per line.");
    if (prompts.length > MAX_PROMPTS) return setError(`At most ${MAX_PROMPTS} prompts in one batch.`);
    setBusy(true);
    setError("");
    try {
      const body: Record<string, unknown> = { prompts, size };
      if (steps.trim() !== "") body.num_inference_steps = Number(steps);
      const batch = await batchesApi.create(body);
      onNotice(`Batch of ${batch.counts.total} jobs queued.`);
      location.hash = `#/batches/${batch.id}`;
    } catch (err) {
      setError(describeBatchError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <h1>Batches</h1>
      <p class="muted lead">
        One prompt per line: each line becomes a text-to-image job, all queued together behind interactive
        jobs.
      </p>
      <form class="card create" onSubmit={submit} noValidate>
        <div class="field wide">
          <label for="prompts">Prompts</label>
          <textarea
            id="prompts"
            rows={8}
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
            placeholder={"a lighthouse at dusk\na paper crane on a desk\na bowl of lemons"}
            aria-describedby="prompts-count"
          />
          <p class="hint" id="prompts-count">
            {prompts.length} {prompts.length === 1 ? "prompt" : "prompts"}
          </p>
        </div>
        <div class="field">
          <label for="batch-size">Size</label>
          <select id="batch-size" value={size} onChange={(e) => setSize(e.currentTarget.value)}>
            {SIZES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="batch-steps">Steps</label>
          <input
            id="batch-steps"
            type="number"
            inputMode="numeric"
            min={1}
            max={100}
            placeholder="50"
            value={steps}
            onInput={(e) => setSteps(e.currentTarget.value)}
          />
        </div>
        <div class="wide submit-row">
          {error && <p role="alert">{error}</p>}
          <button type="submit" disabled={busy}>
            {busy ? "Submitting…" : "Submit batch"}
          </button>
        </div>
      </form>
      <h2>My batches</h2>
      {listError && <p role="alert">{listError}</p>}
      {batches && batches.length === 0 && <p class="empty">No batches yet.</p>}
      {batches && batches.length > 0 && (
        <ul class="batch-list">
          {batches.map((b) => (
            <li key={b.id}>
              <a href={`#/batches/${b.id}`}>{b.id}</a> <span class={`status ${b.status}`}>{b.status}</span>{" "}
              <span class="muted">
                {b.counts.succeeded + b.counts.failed + b.counts.canceled}/{b.counts.total} done ·{" "}
                {new Date(b.created_at).toLocaleString()}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function BatchProgress({ id, onNotice }: { id: string; onNotice: (msg: string) => void }) {
  const [batch, setBatch] = useState<BatchView | null>(null);
  const [busy, setBusy] = useState(false);
  const error = usePolling(
    async () => {
      // A finished batch changes no more: one last reading, then the polling only repeats it cheaply.
      if (batch && ENDED.has(batch.status)) return;
      setBatch(await batchesApi.get(id));
    },
    1500,
    [id, batch?.status],
  );
  const cancel = async () => {
    setBusy(true);
    try {
      const answer = await batchesApi.cancel(id);
      setBatch(await batchesApi.get(id));
      onNotice(`Canceled ${answer.canceled_jobs} jobs of the batch.`);
    } catch (err) {
      onNotice(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  if (!batch) return <section>{error ? <p role="alert">{error}</p> : <p class="muted">Loading…</p>}</section>;
  const { total, queued, running, succeeded, failed, canceled } = batch.counts;
  const done = succeeded + failed + canceled;
  return (
    <section aria-labelledby="batch-title">
      <p>
        <a href="#/batches">← All batches</a>
      </p>
      <h1 id="batch-title">Batch</h1>
      <p class="muted">
        <code>{batch.id}</code> · submitted {new Date(batch.created_at).toLocaleString()}
      </p>
      {error && <p role="alert">{error}</p>}
      <div class="card">
        <p>
          <span class={`status ${batch.status}`} data-testid="batch-status">
            {batch.status}
          </span>{" "}
          <strong data-testid="batch-done">
            {done} of {total} done
          </strong>
        </p>
        <progress max={total} value={done} aria-label="Batch progress" />
        <dl class="batch-counts">
          {(
            [
              ["Queued", queued],
              ["Running", running],
              ["Succeeded", succeeded],
              ["Failed", failed],
              ["Canceled", canceled],
            ] as const
          ).map(([label, value]) => (
            <div key={label}>
              <dt>{label}</dt>
              <dd data-testid={`count-${label.toLowerCase()}`}>{value}</dd>
            </div>
          ))}
        </dl>
        {!ENDED.has(batch.status) && (
          <button type="button" class="ghost" onClick={cancel} disabled={busy}>
            Cancel batch
          </button>
        )}
      </div>
      <h2>Jobs</h2>
      <ol class="batch-jobs">
        {(batch.jobs?.data ?? []).map((job) => (
          <li key={job.id}>
            <span class={`status ${job.status}`}>{job.status}</span> {String(job.params.prompt ?? "")}
            {job.result?.images[0] && (
              <a href={job.result.images[0].url} target="_blank" rel="noreferrer">
                {" "}
                image
              </a>
            )}
          </li>
        ))}
      </ol>
      {batch.jobs?.has_more && <p class="muted">Showing the first {batch.jobs.data.length} jobs.</p>}
    </section>
  );
}
