import type { Batch } from "@zimage/sdk";

const WIDTH = 24;

/** `[#########---------]  40/100 done · 2 running · 58 queued · 1 failed` */
export function describeBatch(batch: Batch): string {
  const { total, queued, running, succeeded, failed, canceled } = batch.counts;
  const done = succeeded + failed + canceled;
  const filled = total === 0 ? WIDTH : Math.round((done / total) * WIDTH);
  const parts = [`${done}/${total} done`];
  if (running) parts.push(`${running} running`);
  if (queued) parts.push(`${queued} queued`);
  if (failed) parts.push(`${failed} failed`);
  if (canceled) parts.push(`${canceled} canceled`);
  return `[${"#".repeat(filled)}${"-".repeat(WIDTH - filled)}] ${parts.join(" · ")}`;
}

/** The batch's progress bar on stderr: redrawn in place on a terminal, a line per change otherwise. */
export class BatchProgress {
  private lastText = "";

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}

  update(batch: Batch): void {
    const text = `${batch.id}  ${describeBatch(batch)}`;
    if (this.out.isTTY) this.out.write(`\r\x1b[2K${text}`);
    else if (text !== this.lastText) this.out.write(`${text}\n`);
    this.lastText = text;
  }

  done(): void {
    if (this.out.isTTY && this.lastText) this.out.write("\n");
  }
}
