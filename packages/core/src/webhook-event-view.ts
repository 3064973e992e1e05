import {
  buildJobView,
  type JobSnapshot,
  type JobStatus,
  type JobView,
  statusOf,
  type ViewContext,
} from "./job-view";

type ViewImage = NonNullable<JobView["result"]>["images"][number];

/**
 * The public job view as it was when a webhook event happened, kept in the delivery's data so every
 * attempt carries the same payload however the job moves on (issue #16). Image URLs are left out:
 * they are signed when an attempt is made, so each attempt's links are valid for RESULT_URL_TTL_SECONDS.
 * Small and bounded: parameters (prompts up to 4000 characters), at most 4 images' metadata, and a
 * failure whose upstream body is already truncated.
 */
export type EventView = Omit<JobView, "result"> & {
  result: { images: Array<Omit<ViewImage, "url">> } | null;
};

/**
 * The snapshot as of `event`. A job read just after its event may already have moved on (the
 * dispatcher can take a job between the api's submit and its read; an owner can cancel a running
 * job just after `running`): for the two non-final events the fields the later state added are
 * dropped, so `job.queued` says queued and `job.running` says running. A final event is read after the
 * job was moved, and a final state does not change, so it is kept as read.
 */
export function snapshotAtEvent(snapshot: JobSnapshot, event: JobStatus): JobSnapshot {
  if (statusOf(snapshot.state, snapshot.failedReason, !!snapshot.cancelRequestedAt) === event)
    return snapshot;
  const ended = {
    finishedOn: undefined,
    returnvalue: null,
    failedReason: undefined,
    cancelRequestedAt: null,
  };
  if (event === "queued")
    return { ...snapshot, ...ended, state: "waiting", processedOn: undefined, progress: null };
  if (event === "running") return { ...snapshot, ...ended, state: "active" };
  return snapshot;
}

/**
 * The view to keep for `event`, or null when the snapshot has no public status. `place` is the job's
 * queue position and ETA at the event (`readJobPlace`), for `job.queued` and `job.running`.
 */
export function eventView(
  snapshot: JobSnapshot,
  event: JobStatus,
  place?: Pick<ViewContext, "queuePosition" | "etaSeconds">,
): EventView | null {
  const view = buildJobView(snapshotAtEvent(snapshot, event), {
    imageUrl: () => "",
    queuePosition: place?.queuePosition ?? null,
    etaSeconds: place?.etaSeconds ?? null,
  });
  if (!view) return null;
  return {
    ...view,
    result: view.result ? { images: view.result.images.map(({ url: _unsigned, ...image }) => image) } : null,
  };
}

/** The public view of a kept event view, with image URLs made now. */
export function withImageUrls(view: EventView, imageUrl: (id: string, index: number) => string): JobView {
  return {
    ...view,
    result: view.result
      ? { images: view.result.images.map((image, i) => ({ url: imageUrl(view.id, i), ...image })) }
      : null,
  };
}
