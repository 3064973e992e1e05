import { useEffect, useRef, useState } from "preact/hooks";
import { describeError, jobsApi } from "../api";
import { dateTime } from "../format";
import type { JobView, Session } from "../types";

const PAGE_SIZE = 12;

/** Succeeded jobs, newest first, a page at a time (cursor paging, as the API offers). */
export function GalleryScreen({ session, onNotice }: { session: Session; onNotice: (msg: string) => void }) {
  // cursors[i] is the cursor that opens page i (page 0 has none).
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const [page, setPage] = useState<{ data: JobView[]; next: string | null } | null>(null);
  const [error, setError] = useState("");
  const [toDelete, setToDelete] = useState<JobView | null>(null);
  const owner = session.principal.role === "admin" ? session.principal.id : undefined;
  const cursor = cursors.at(-1);

  useEffect(() => {
    let stale = false;
    jobsApi
      .list({ status: "succeeded", limit: PAGE_SIZE, cursor, owner })
      .then((p) => {
        if (!stale) setPage({ data: p.data, next: p.has_more ? p.next_cursor : null });
      })
      .catch((err) => !stale && setError(describeError(err)));
    return () => {
      stale = true;
    };
  }, [cursor, owner]);

  const remove = async (job: JobView) => {
    setToDelete(null);
    try {
      await jobsApi.delete(job.id);
      setPage((p) => p && { ...p, data: p.data.filter((j) => j.id !== job.id) });
      onNotice(`Deleted the images of job ${job.id}.`);
    } catch (err) {
      setError(describeError(err));
    }
  };

  return (
    <section>
      <h1>Gallery</h1>
      {error && <p role="alert">{error}</p>}
      {page && page.data.length === 0 && (
        <p class="empty">
          {cursors.length > 1 ? "Nothing more." : "No finished images yet."} <a href="#/create">Create one</a>
          .
        </p>
      )}
      <div class="gallery">
        {page?.data.map((job) => (
          <GalleryItem key={job.id} job={job} onDelete={() => setToDelete(job)} />
        ))}
      </div>
      <nav class="pager" aria-label="Gallery pages">
        <button
          type="button"
          class="ghost"
          disabled={cursors.length <= 1}
          onClick={() => setCursors((c) => c.slice(0, -1))}
        >
          Newer
        </button>
        <span class="muted">Page {cursors.length}</span>
        <button
          type="button"
          class="ghost"
          disabled={!page?.next}
          onClick={() => page?.next && setCursors((c) => [...c, page.next!])}
        >
          Older
        </button>
      </nav>
      {toDelete && (
        <ConfirmDelete job={toDelete} onConfirm={() => remove(toDelete)} onCancel={() => setToDelete(null)} />
      )}
    </section>
  );
}

function GalleryItem({ job, onDelete }: { job: JobView; onDelete: () => void }) {
  const [copied, setCopied] = useState(false);
  const images = job.result?.images ?? [];
  const prompt = String(job.params.prompt ?? "");
  const p = job.params as Record<string, unknown>;
  const size = images[0] ? `${images[0].width}x${images[0].height}` : String(p.size ?? "");

  const copy = async () => {
    const text = JSON.stringify({ kind: job.kind, ...job.params }, null, 2);
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // No clipboard permission (an http origin other than localhost): the old way.
      const area = document.createElement("textarea");
      area.value = text;
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 2000);
  };

  return (
    <figure class="card shot" data-job-id={job.id}>
      <div class={`images n${images.length}`}>
        {images.map((im, i) => (
          <a key={im.url} href={im.url} target="_blank" rel="noopener">
            <img
              src={im.url}
              width={im.width}
              height={im.height}
              loading="lazy"
              alt={images.length > 1 ? `${prompt} (image ${i + 1} of ${images.length})` : prompt}
            />
          </a>
        ))}
      </div>
      <figcaption>
        <p class="prompt">{prompt}</p>
        <dl class="params">
          <dt>size</dt>
          <dd>{size}</dd>
          <dt>steps</dt>
          <dd>{String(p.num_inference_steps ?? "")}</dd>
          <dt>guidance</dt>
          <dd>{String(p.guidance_scale ?? "")}</dd>
          {p.seed !== undefined && (
            <>
              <dt>seed</dt>
              <dd>{String(p.seed)}</dd>
            </>
          )}
          {p.negative_prompt !== undefined && (
            <>
              <dt>negative</dt>
              <dd>{String(p.negative_prompt)}</dd>
            </>
          )}
        </dl>
        <p class="muted small">
          {job.kind === "edit" ? "image-to-image" : "text-to-image"} · {dateTime(job.completed_at)}
          {job.upstream ? ` · ${job.upstream}` : ""}
        </p>
      </figcaption>
      <div class="actions">
        {images.map((im, i) => (
          <a key={im.url} class="button ghost" href={im.url} download={`${job.id}-${i}.png`}>
            {images.length > 1 ? `Download ${i + 1}` : "Download"}
          </a>
        ))}
        <button type="button" class="ghost" onClick={copy}>
          {copied ? "Copied" : "Copy parameters"}
        </button>
        <button type="button" class="ghost danger" onClick={onDelete}>
          Delete
        </button>
      </div>
    </figure>
  );
}

/** An in-page confirmation (a modal <dialog>: focus is trapped and Escape cancels). */
function ConfirmDelete({
  job,
  onConfirm,
  onCancel,
}: {
  job: JobView;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  return (
    <dialog ref={ref} class="card" aria-labelledby="delete-title" onCancel={onCancel} onClose={onCancel}>
      <h2 id="delete-title">Delete these images?</h2>
      <p>
        “{String(job.params.prompt ?? "")}” and its {job.result?.images.length ?? 0} image(s) will be deleted
        for good.
      </p>
      <div class="actions">
        <button type="button" class="danger" onClick={onConfirm}>
          Delete
        </button>
        <button type="button" class="ghost" onClick={onCancel}>
          Keep
        </button>
      </div>
    </dialog>
  );
}
