/**
 * A background pass run every `intervalMs` (the deadline sweep, the end reconciler): never two passes
 * at once, a failed pass reported and the next one run as usual, and `stop` waits for a pass in
 * progress so nothing writes to Redis after shutdown.
 */
export class PeriodicPass {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;

  constructor(
    private readonly pass: () => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.pass()
        .then(() => undefined)
        .catch(this.onError)
        .finally(() => {
          this.running = null;
        });
    }, this.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
