import { Agent } from "undici";
import {
  type RequestKind,
  type ResolvedClientOptions,
  requestTimeouts,
  resolveClientOptions,
} from "./client-options";
import { discoverCapabilities } from "./discover";
import { downloadUrl } from "./download-url";
import { asyncEditForm, editForm } from "./edit-form";
import { runEditTask } from "./edit-via-task";
import { UpstreamProtocolError } from "./errors";
import { displayUrl, type HttpAnswer, type HttpCall, httpCall } from "./http-call";
import { assertOk } from "./http-error-from-answer";
import { jsonBody, lenientBody } from "./json-body";
import { modelInfos } from "./model-ids";
import { parseImagesResponse } from "./parse-images-response";
import { parseTaskId, parseTaskState } from "./task-state";
import type {
  CallOptions,
  DiscoveredCapabilities,
  EditRequest,
  EditViaTaskOptions,
  GenerateRequest,
  ImagesResponse,
  TaskState,
  UpstreamHealth,
  UpstreamStatus,
  ZImageClientOptions,
} from "./types";
import { upstreamHealth } from "./upstream-health";
import { upstreamStatus } from "./upstream-status";

interface Call extends CallOptions {
  method: "GET" | "POST";
  url: URL;
  kind: RequestKind;
  headers?: Record<string, string>;
  body?: HttpCall["body"];
}

/**
 * Client for one Z-Image server. It sends what it is asked to: serialising image requests (the
 * server runs one GPU job at a time) and retrying are the dispatcher's job, guided by the typed
 * errors' `retryable` hint.
 */
export class ZImageClient {
  readonly options: Readonly<ResolvedClientOptions>;
  private readonly agent: Agent;

  constructor(opts: ZImageClientOptions) {
    this.options = resolveClientOptions(opts);
    this.agent = new Agent({
      connect: { timeout: this.options.connectTimeoutMs },
      // Every call passes its own timeouts; these agent-wide ones only replace undici's 300 s
      // defaults so nothing falls back to a limit shorter than an image request may need.
      headersTimeout: this.options.imageTimeoutMs,
      bodyTimeout: this.options.imageTimeoutMs,
      // undici 8 speaks HTTP/2 to a TLS upstream that offers it; the per-call timeouts, the response
      // size cap and the one-job-per-connection model are tested over HTTP/1.1 only.
      allowH2: false,
    });
  }

  /** `POST /v1/images/generations` (JSON). Holds the connection until the image is done. */
  async generate(body: GenerateRequest, opts: CallOptions = {}): Promise<ImagesResponse> {
    const answer = await this.call({
      ...opts,
      method: "POST",
      url: this.url("v1/images/generations"),
      kind: "image",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
    });
    assertOk(answer);
    return parseImagesResponse(jsonBody(answer), answer.upstreamUrl);
  }

  /** `POST /v1/images/edits` (multipart/form-data with the input image as the `image` file). */
  async edit(req: EditRequest, opts: CallOptions = {}): Promise<ImagesResponse> {
    const answer = await this.call({
      ...opts,
      method: "POST",
      url: this.url("v1/images/edits"),
      kind: "image",
      headers: { accept: "application/json" },
      body: editForm(req),
    });
    assertOk(answer);
    return parseImagesResponse(jsonBody(answer), answer.upstreamUrl);
  }

  /**
   * `POST /v1/images/async_edit` (multipart: `image` and `prompt` only, all the reference server
   * reads). Answers at once with the task to poll; the image timeout applies by default because
   * the call carries the upload.
   */
  async asyncEdit(req: EditRequest, opts: CallOptions = {}): Promise<{ taskId: string }> {
    const answer = await this.call({
      ...opts,
      method: "POST",
      url: this.url("v1/images/async_edit"),
      kind: "image",
      headers: { accept: "application/json" },
      body: asyncEditForm(req),
    });
    assertOk(answer);
    return { taskId: parseTaskId(jsonBody(answer), answer.upstreamUrl) };
  }

  /** `GET /v1/images/tasks/{id}`: a control call. A failed task is returned, not thrown. */
  async task(taskId: string, opts: CallOptions = {}): Promise<TaskState> {
    const answer = await this.call({ ...opts, method: "GET", url: this.taskUrl(taskId), kind: "control" });
    assertOk(answer);
    return parseTaskState(jsonBody(answer), answer.upstreamUrl);
  }

  /**
   * An edit on a server that only has the async pair: submit, poll every `pollIntervalMs` until done
   * within `timeoutMs`. Throws UpstreamTaskLostError when the server forgot the task (restart),
   * the classified error of a failed task, or UpstreamTimeoutError at the deadline.
   */
  editViaTask(req: EditRequest, opts: EditViaTaskOptions): Promise<ImagesResponse> {
    return runEditTask(
      {
        submit: (callOpts) => this.asyncEdit(req, callOpts),
        poll: (taskId, callOpts) => this.task(taskId, callOpts),
        taskUrl: (taskId) => displayUrl(this.taskUrl(taskId)),
        controlTimeoutMs: this.options.controlTimeoutMs,
      },
      opts,
    );
  }

  /**
   * What this upstream offers (routes, models, `/health` shape) and how to run each job kind, found
   * without GPU work. Throws when the upstream cannot be reached.
   */
  discover(): Promise<DiscoveredCapabilities> {
    return discoverCapabilities({
      call: (method, path, json) =>
        this.call({
          method,
          url: this.url(path),
          kind: "control",
          ...(json !== undefined ? { headers: { "content-type": "application/json" }, body: json } : {}),
        }),
      models: async () => {
        const answer = await this.call({ method: "GET", url: this.url("v1/models"), kind: "control" });
        return answer.status >= 200 && answer.status < 300 ? modelInfos(lenientBody(answer)) : [];
      },
      healthShape: async () => (await this.health()).shape,
    });
  }

  /** `GET /health`. Throws only when the server cannot be reached or does not answer in time. */
  async health(): Promise<UpstreamHealth> {
    return upstreamHealth(await this.call({ method: "GET", url: this.url("health"), kind: "control" }));
  }

  /** `GET /v1/internal/status`; safe to poll while an image request is open. */
  async status(): Promise<UpstreamStatus> {
    const answer = await this.call({ method: "GET", url: this.url("v1/internal/status"), kind: "control" });
    assertOk(answer);
    return upstreamStatus(answer);
  }

  /** `GET /v1/models`: model metadata, passed through as opaque JSON. */
  async models(): Promise<unknown> {
    const answer = await this.call({ method: "GET", url: this.url("v1/models"), kind: "control" });
    assertOk(answer);
    return jsonBody(answer);
  }

  /** Unloads the model from VRAM. The API allows POST or GET; some builds only route one of them. */
  async unload(): Promise<unknown> {
    const url = this.url("v1/internal/unload");
    let answer = await this.call({ method: "POST", url, kind: "control" });
    if (answer.status === 404 || answer.status === 405) {
      answer = await this.call({ method: "GET", url, kind: "control" });
    }
    assertOk(answer);
    return lenientBody(answer);
  }

  /**
   * Fetches an image returned with `response_format: "url"` (absolute, or relative to baseUrl). An
   * absolute URL on another origin is rebased onto baseUrl (see `downloadUrl`: the server guesses
   * its own host name, and only the configured upstream is ever contacted).
   */
  async download(url: string, opts: CallOptions = {}): Promise<Buffer> {
    const answer = await this.call({
      ...opts,
      method: "GET",
      url: downloadUrl(url, this.options.baseUrl),
      kind: "image",
      headers: { accept: "image/*" },
    });
    assertOk(answer);
    const ct = answer.contentType;
    if (ct !== "" && !ct.startsWith("image/") && ct !== "application/octet-stream") {
      throw new UpstreamProtocolError(`image download answered ${ct}, expected an image`, {
        upstreamUrl: answer.upstreamUrl,
        status: answer.status,
        body: answer.body.subarray(0, 4096).toString("utf8"),
      });
    }
    if (answer.body.length === 0) {
      throw new UpstreamProtocolError("image download was empty", { upstreamUrl: answer.upstreamUrl });
    }
    return answer.body;
  }

  /** Closes idle connections; waits for calls in flight (abort them first to stop sooner). */
  async close(): Promise<void> {
    await this.agent.close();
  }

  private url(path: string): URL {
    return new URL(path, this.options.baseUrl);
  }

  private taskUrl(taskId: string): URL {
    return this.url(`v1/images/tasks/${encodeURIComponent(taskId)}`);
  }

  private call(call: Call): Promise<HttpAnswer> {
    return httpCall(this.agent, {
      method: call.method,
      url: call.url,
      timeouts: requestTimeouts(call.kind, this.options, call.timeoutMs),
      maxResponseBytes: this.options.maxResponseBytes,
      ...(call.headers ? { headers: call.headers } : {}),
      ...(call.body !== undefined ? { body: call.body } : {}),
      ...(call.signal ? { signal: call.signal } : {}),
    });
  }
}
