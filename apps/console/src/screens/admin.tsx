import { useState } from "preact/hooks";
import { describeError, request } from "../api";
import { dateTime } from "../format";
import { usePolling } from "../hooks";
import type { ApiKey, QueuePoint, UpstreamState } from "../types";
import { breakerText, modeText, paramsText, pipelineText } from "../upstream-format";
import { DeadLetters } from "./dead-letters";
import { QueueChart } from "./queue-chart";
import { UsageByKey } from "./usage-by-key";

const yesNo = (v: boolean | null) => (v === null ? "unknown" : v ? "yes" : "no");
const model = (v: boolean | null) => (v === null ? "unknown" : v ? "loaded" : "unloaded");

export function AdminScreen() {
  const [upstreams, setUpstreams] = useState<UpstreamState[] | null>(null);
  const [points, setPoints] = useState<QueuePoint[] | null>(null);
  const upstreamError = usePolling(async () => {
    setUpstreams((await request<{ data: UpstreamState[] }>("/v1/upstreams")).data);
  }, 2000);
  const historyError = usePolling(async () => {
    setPoints((await request<{ points: QueuePoint[] }>("/v1/admin/queue-history?minutes=60")).points);
  }, 30_000);

  return (
    <section>
      <h1>Admin</h1>
      <p class="links">
        <a href="/admin/queues">Queue admin</a>
        <a href="/metrics">Metrics</a>
        <a href="/docs">API reference</a>
      </p>

      <h2>GPUs</h2>
      {upstreamError && <p role="alert">{upstreamError}</p>}
      <div class="table-wrap">
        <table>
          <caption>Upstreams</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Up</th>
              <th scope="col">Busy</th>
              <th scope="col">Model</th>
              <th scope="col">Current job</th>
              <th scope="col">Last unload</th>
              <th scope="col">Pipeline loaded</th>
              <th scope="col">Text-to-image</th>
              <th scope="col">Image-to-image</th>
              <th scope="col">Breaker</th>
              <th scope="col">Defaults</th>
            </tr>
          </thead>
          <tbody>
            {upstreams?.map((u) => (
              <tr key={u.name} data-upstream={u.name}>
                <th scope="row">
                  {u.name}
                  {u.last_error && <span class="muted small block">{u.last_error}</span>}
                </th>
                <td>
                  <span class={`dot ${u.up ? "ok" : u.up === false ? "bad" : ""}`} aria-hidden="true" />
                  {yesNo(u.up)}
                </td>
                <td>{u.busy ? "busy" : "idle"}</td>
                <td>{model(u.model_loaded)}</td>
                <td>
                  <code>{u.current_job ?? "—"}</code>
                </td>
                <td>{dateTime(u.last_unload_at)}</td>
                <td>{pipelineText(u.loaded_pipeline)}</td>
                <td>{modeText(u, "generate")}</td>
                <td>{modeText(u, "edit")}</td>
                <td>
                  <span
                    class={`dot ${u.breaker?.state === "open" ? "bad" : u.breaker?.state === "half_open" ? "" : "ok"}`}
                    aria-hidden="true"
                  />
                  {breakerText(u.breaker)}
                </td>
                <td>{paramsText(u.params)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <h2>Queue depth, last hour</h2>
      {historyError && <p role="alert">{historyError}</p>}
      {points && <QueueChart points={points} />}

      <UsageByKey />
      <DeadLetters />

      <Keys />
    </section>
  );
}

function Keys() {
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [version, setVersion] = useState(0);
  const [name, setName] = useState("");
  const [role, setRole] = useState<"user" | "admin">("user");
  // The priority classes the key may submit (issue #19): all, or batch only.
  const [classes, setClasses] = useState<"all" | "batch">("all");
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);
  const [copied, setCopied] = useState(false);
  const [error, setError] = useState("");
  const listError = usePolling(
    async () => {
      setKeys((await request<{ data: ApiKey[] }>("/v1/admin/keys")).data);
    },
    60_000,
    [version],
  );

  const create = async (e: Event) => {
    e.preventDefault();
    setError("");
    try {
      const res = await request<ApiKey & { key: string }>("/v1/admin/keys", {
        method: "POST",
        body: { name: name.trim(), role, ...(classes === "batch" ? { priority_classes: ["batch"] } : {}) },
      });
      setCreated({ name: res.name, key: res.key });
      setCopied(false);
      setName("");
      setVersion((v) => v + 1);
    } catch (err) {
      setError(describeError(err));
    }
  };
  const revoke = async (key: ApiKey) => {
    try {
      await request(`/v1/admin/keys/${encodeURIComponent(key.id)}`, { method: "DELETE" });
      setVersion((v) => v + 1);
    } catch (err) {
      setError(describeError(err));
    }
  };

  return (
    <>
      <h2>Keys</h2>
      {(error || listError) && <p role="alert">{error || listError}</p>}
      <form class="card inline-form" onSubmit={create}>
        <div class="field">
          <label for="key-name">Name</label>
          <input
            id="key-name"
            required
            maxLength={100}
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="key-role">Role</label>
          <select
            id="key-role"
            value={role}
            onChange={(e) => setRole(e.currentTarget.value as "user" | "admin")}
          >
            <option value="user">user</option>
            <option value="admin">admin</option>
          </select>
        </div>
        <div class="field">
          <label for="key-classes">Priority classes</label>
          <select
            id="key-classes"
            value={classes}
            onChange={(e) => setClasses(e.currentTarget.value as "all" | "batch")}
          >
            <option value="all">interactive and batch</option>
            <option value="batch">batch only</option>
          </select>
        </div>
        <button type="submit">Create key</button>
      </form>
      {created && (
        <div class="card new-key">
          <p>
            The key for <strong>{created.name}</strong>. It is shown only this once:
          </p>
          <output aria-label="New API key">{created.key}</output>
          <button
            type="button"
            class="ghost"
            onClick={async () => {
              // Without clipboard permission the button must not claim "Copied": the key stays shown
              // above to copy by hand.
              await navigator.clipboard.writeText(created.key).then(
                () => setCopied(true),
                () => setCopied(false),
              );
            }}
          >
            {copied ? "Copied" : "Copy"}
          </button>
        </div>
      )}
      <div class="table-wrap">
        <table>
          <caption>API keys</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Classes</th>
              <th scope="col">Prefix</th>
              <th scope="col">Created</th>
              <th scope="col">Revoked</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys?.map((k) => (
              <tr key={k.id} class={k.revoked_at ? "revoked" : ""}>
                <th scope="row">{k.name}</th>
                <td>{k.role}</td>
                <td>{(k.priority_classes ?? ["interactive", "batch"]).join(", ")}</td>
                <td>
                  <code>{k.prefix}…</code>
                </td>
                <td>{dateTime(k.created_at)}</td>
                <td>{k.revoked_at ? dateTime(k.revoked_at) : "—"}</td>
                <td>
                  {!k.revoked_at && (
                    <button
                      type="button"
                      class="ghost danger"
                      onClick={() => revoke(k)}
                      aria-label={`Revoke ${k.name}`}
                    >
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
