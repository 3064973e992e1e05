import { randomUUID } from "node:crypto";

export type ImageItem = { url: string } | { b64_json: string };

/** The body of `GET /v1/images/tasks/{task_id}`, exactly as the reference server answers it. */
export type TaskView =
  | { status: "processing" }
  | { status: "completed"; data: ImageItem[] }
  | { status: "failed"; error: string };

// The reference server answers an unknown id with 200 and this, e.g. after a restart.
const notFound: TaskView = {
  status: "failed",
  error: "Task not found (server may have restarted or ID is invalid). Please submit a new request.",
};

// The reference server never forgets a task while it runs; bounded here so a long soak cannot leak.
const MAX_TASKS = 10_000;

/** The reference server's async tasks: in memory only, so a new simulator knows none of them. */
export class TaskStore {
  private readonly tasks = new Map<string, TaskView>();

  /** A new task in `processing`; its id is 32 hex digits, like a Python `uuid4().hex`. */
  create(): string {
    const id = randomUUID().replaceAll("-", "");
    this.tasks.set(id, { status: "processing" });
    if (this.tasks.size > MAX_TASKS) this.tasks.delete(this.tasks.keys().next().value!);
    return id;
  }

  complete(id: string, data: ImageItem[]): void {
    this.tasks.set(id, { status: "completed", data });
  }

  fail(id: string, error: string): void {
    this.tasks.set(id, { status: "failed", error });
  }

  view(id: string): TaskView {
    return this.tasks.get(id) ?? notFound;
  }
}
