import type { Job } from "@zimage/sdk";

const clock = (ms: number) => {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
};

/** One line about where a job stands: status, queue position or phase, ETA and time so far. */
export function describe(job: Job, elapsedMs: number): string {
  const parts: string[] = [job.status];
  if (job.status === "queued" && job.queue_position !== null)
    parts.push(job.queue_position <= 1 ? "next in line" : `${job.queue_position - 1} ahead`);
  if (job.status === "running") {
    parts.push(
      job.phase === "loading" ? "loading the model" : job.phase === "generating" ? "generating" : "starting",
    );
    if (job.upstream) parts.push(`on ${job.upstream}`);
  }
  if ((job.status === "queued" || job.status === "running") && job.eta_seconds !== null)
    parts.push(`eta ${clock(job.eta_seconds * 1000)}`);
  parts.push(clock(elapsedMs));
  return `${job.id}  ${parts.join(" · ")}`;
}

/**
 * A live progress line on stderr: redrawn in place on a terminal, one line per change otherwise
 * (logs, CI), and a clock that keeps ticking between changes on a terminal.
 */
export class ProgressLine {
  private readonly started = Date.now();
  private last: Job | undefined;
  private lastText = "";
  private readonly ticker: NodeJS.Timeout | undefined;

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {
    if (out.isTTY) this.ticker = setInterval(() => this.draw(), 1000);
  }

  update(job: Job): void {
    this.last = job;
    this.draw();
  }

  private draw(): void {
    if (!this.last) return;
    const text = describe(this.last, Date.now() - this.started);
    if (this.out.isTTY) {
      this.out.write(`\r\x1b[2K${text}`);
    } else if (text.replace(/ · \d+:\d\d$/, "") !== this.lastText.replace(/ · \d+:\d\d$/, "")) {
      this.out.write(`${text}\n`);
    }
    this.lastText = text;
  }

  done(): void {
    clearInterval(this.ticker);
    if (this.out.isTTY && this.lastText) this.out.write("\n");
  }
}
