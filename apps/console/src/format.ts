import type { JobView } from "./types";

/** 75 → "1:15", 3700 → "1:01:40". */
export function clock(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/** Seconds the job has taken so far (waiting + running), or took, at `now`. */
export function elapsedSeconds(job: JobView, now: number): number {
  const start = Date.parse(job.created_at);
  const end = job.completed_at ? Date.parse(job.completed_at) : now;
  return Math.max(0, (end - start) / 1000);
}

/**
 * How far along a job is, 0..1, or null when there is nothing honest to show (an indeterminate bar).
 * A running job with an ETA is estimated from its running time; finished jobs are full.
 */
export function progressOf(job: JobView, now: number): number | null {
  if (job.status === "succeeded" || job.status === "failed" || job.status === "canceled") return 1;
  if (job.status !== "running" || job.eta_seconds === null || !job.started_at) return null;
  const ran = Math.max(0, (now - Date.parse(job.started_at)) / 1000);
  const total = ran + Math.max(0, job.eta_seconds);
  return total > 0 ? Math.min(0.99, ran / total) : null;
}

export const PHASE_LABEL: Record<string, string> = {
  loading: "loading the model",
  generating: "generating",
};

/** One line on where the job stands: "#2 in queue · about 1:40", "generating on gpu0". */
export function standing(job: JobView): string {
  const parts: string[] = [];
  if (job.status === "queued") {
    if (job.queue_position !== null) parts.push(`#${job.queue_position} in queue`);
    if (job.eta_seconds !== null) parts.push(`starts in about ${clock(job.eta_seconds)}`);
  } else if (job.status === "running") {
    parts.push(job.phase ? PHASE_LABEL[job.phase]! : "starting");
    if (job.upstream) parts.push(`on ${job.upstream}`);
    if (job.eta_seconds !== null) parts.push(`about ${clock(job.eta_seconds)} left`);
  } else if (job.status === "failed" && job.error) {
    parts.push(job.error.message);
  } else if (job.status === "succeeded" && job.result) {
    const n = job.result.images.length;
    parts.push(`${n} image${n === 1 ? "" : "s"}`);
  }
  return parts.join(" · ");
}

export const SIZE_PRESETS = [
  { value: "1024x1024", label: "Square 1024 × 1024" },
  { value: "1024x768", label: "Landscape 1024 × 768" },
  { value: "768x1024", label: "Portrait 768 × 1024" },
  { value: "1280x704", label: "Wide 1280 × 704" },
  { value: "704x1280", label: "Tall 704 × 1280" },
  { value: "512x512", label: "Small 512 × 512" },
] as const;

export function dateTime(iso: string | null): string {
  if (!iso) return "never";
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
