import { useEffect, useState } from "preact/hooks";
import { describeError, jobsApi, notifySignedOut } from "../api";
import { clock, elapsedSeconds, progressOf, standing } from "../format";
import { useNow } from "../hooks";
import { currentSession } from "../session";
import type { JobView, Session } from "../types";

const FINISHED = new Set(["succeeded", "failed", "canceled"]);
const RANK: Record<JobView["status"], number> = {
  queued: 0,
  running: 1,
  succeeded: 2,
  failed: 2,
  canceled: 2,
};
const promptOf = (job: JobView) => String(job.params.prompt ?? "");

/** Everyone's jobs are not on the caller's event stream: the list is read again this often instead. */
const ALL_KEYS_REFRESH_MS = 5000;

/**
 * My jobs: the first page from `GET /v1/jobs`, then kept current by one server-sent event stream
 * (`GET /v1/events`) for all of them: positions, phases, ends. An admin sees their own jobs
 * (`owner=me`) unless they tick "All keys" (`owner=all`), which re-reads the list every few seconds.
 */
export function JobsScreen({ session, onNotice }: { session: Session; onNotice: (msg: string) => void }) {
  const [jobs, setJobs] = useState<Map<string, JobView>>(new Map());
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState("");
  const [live, setLive] = useState(false);
  const [allKeys, setAllKeys] = useState(false);
  const isAdmin = session.principal.role === "admin";
  const now = useNow(1000);

  useEffect(() => {
    let closed = false;
    const owner = isAdmin ? (allKeys ? "all" : "me") : undefined;
    // A new scope starts from its own first page (not the other scope's jobs).
    setJobs(new Map());
    setLoaded(false);
    const upsert = (job: JobView) =>
      setJobs((prev) => {
        const next = new Map(prev);
        next.set(job.id, job);
        return next;
      });
    const load = async () => {
      try {
        const page = await jobsApi.list({ limit: 50, owner });
        if (closed) return;
        // Events that arrived while the page loaded may be newer than the page: a job's status
        // never moves backwards (queued → running → an end).
        setJobs((prev) => {
          const next = new Map(page.data.map((j) => [j.id, j] as const));
          for (const [id, j] of prev) {
            const listed = next.get(id);
            if (!listed || RANK[j.status] > RANK[listed.status]) next.set(id, j);
          }
          return next;
        });
        setError("");
      } catch (err) {
        if (!closed) setError(describeError(err));
      } finally {
        if (!closed) setLoaded(true);
      }
    };
    let events: EventSource | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let opened = false;
    const connect = () => {
      const source = new EventSource("/v1/events");
      events = source;
      source.onopen = () => {
        setLive(true);
        // A reconnect may have missed changes: read the list again.
        if (opened) void load();
        opened = true;
      };
      source.onerror = () => {
        setLive(false);
        // EventSource retries lost connections itself, but gives up on an HTTP error (a 401 once the
        // session has ended, a 503 while Redis is down): check the session (a 401 signs out), retry.
        if (source.readyState !== EventSource.CLOSED || closed) return;
        retry = setTimeout(async () => {
          if (closed) return;
          // A probe whose failure is the answer (unknown: not signed out), so connect() tries again.
          const session = await currentSession().catch(() => undefined);
          if (session === null) notifySignedOut();
          else if (!closed) connect();
        }, 3000);
      };
      source.addEventListener("job", (e) => upsert(JSON.parse((e as MessageEvent).data) as JobView));
      source.addEventListener("deleted", (e) => {
        const { id } = JSON.parse((e as MessageEvent).data) as { id: string };
        setJobs((prev) => {
          const next = new Map(prev);
          next.delete(id);
          return next;
        });
      });
    };
    connect();
    void load();
    const refresh = owner === "all" ? setInterval(() => void load(), ALL_KEYS_REFRESH_MS) : undefined;
    return () => {
      closed = true;
      clearTimeout(retry);
      clearInterval(refresh);
      events?.close();
    };
  }, [session.principal.id, isAdmin, allKeys]);

  const act = async (job: JobView, action: "cancel" | "retry") => {
    try {
      const result = action === "cancel" ? await jobsApi.cancel(job.id) : await jobsApi.retry(job.id);
      setJobs((prev) => new Map(prev).set(result.id, result));
      onNotice(action === "cancel" ? `Job ${job.id} canceled.` : `Job ${result.id} queued again.`);
    } catch (err) {
      setError(describeError(err));
    }
  };

  const sorted = [...jobs.values()].sort((a, b) => (a.id < b.id ? 1 : -1));
  return (
    <section>
      <div class="title-row">
        <h1>My jobs</h1>
        <span class={`live${live ? " on" : ""}`}>{live ? "live" : "reconnecting…"}</span>
        {isAdmin && (
          <label class="scope">
            <input type="checkbox" checked={allKeys} onChange={(e) => setAllKeys(e.currentTarget.checked)} />
            All keys
          </label>
        )}
      </div>
      {error && <p role="alert">{error}</p>}
      {loaded && sorted.length === 0 && (
        <p class="empty">
          No jobs yet. <a href="#/create">Create one</a>.
        </p>
      )}
      <ul aria-label="Jobs" class="jobs">
        {sorted.map((job) => (
          <JobItem key={job.id} job={job} now={now} onAction={act} />
        ))}
      </ul>
    </section>
  );
}

function JobItem({
  job,
  now,
  onAction,
}: {
  job: JobView;
  now: number;
  onAction: (job: JobView, action: "cancel" | "retry") => void;
}) {
  const finished = FINISHED.has(job.status);
  const progress = progressOf(job, now);
  const thumb = job.status === "succeeded" ? job.result?.images[0] : undefined;
  return (
    <li class={`job ${job.status}`} data-job-id={job.id} data-status={job.status}>
      <span class={`thumb${thumb ? "" : " placeholder"}`} aria-hidden="true">
        {thumb ? <img src={thumb.url} alt="" loading="lazy" /> : job.kind === "edit" ? "img→img" : "txt→img"}
      </span>
      <div class="job-main">
        <p class="prompt" title={promptOf(job)}>
          {promptOf(job)}
        </p>
        <p class="meta">
          <span class={`status ${job.status}`}>{job.status}</span>
          {standing(job) && <span>{standing(job)}</span>}
          <span>
            <span class="sr-only">elapsed </span>
            <time>{clock(elapsedSeconds(job, now))}</time>
          </span>
        </p>
        {!finished && (
          <progress
            // Remounted between modes: an indeterminate bar is one without a value attribute at all.
            key={progress === null ? "indeterminate" : "determinate"}
            max={1}
            value={progress ?? undefined}
            aria-label={`Progress: ${job.status}${progress !== null ? `, about ${Math.round(progress * 100)} %` : ""}`}
          />
        )}
      </div>
      <div class="job-actions">
        {!finished && (
          <button type="button" class="ghost" onClick={() => onAction(job, "cancel")}>
            Cancel
          </button>
        )}
        {finished && (
          <button type="button" class="ghost" onClick={() => onAction(job, "retry")}>
            Retry
          </button>
        )}
      </div>
    </li>
  );
}
