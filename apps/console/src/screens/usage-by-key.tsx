import { useState } from "preact/hooks";
import { describeError, request } from "../api";
import { usePolling } from "../hooks";
import type { ApiKey } from "../types";

interface Figures {
  jobs: number;
  images: number;
  gpu_seconds: number;
}
/** `GET /v1/usage?key=all` (apps/api/src/usage-report.ts). */
interface UsageAll {
  from: string;
  to: string;
  totals: Figures;
  by_key?: Array<Figures & { key: string; name: string | null }>;
}

const seconds = (s: number) => (s >= 3600 ? `${(s / 3600).toFixed(2)} h` : `${s.toFixed(1)} s`);
const budget = (s: number | null | undefined) => (s == null ? "unlimited" : seconds(s));

/**
 * The admin's GPU usage per key over the last 30 UTC days, with each key's GPU budgets, and a form
 * to set a key's budgets (empty: unlimited). Issue #19.
 */
export function UsageByKey() {
  const [usage, setUsage] = useState<UsageAll | null>(null);
  const [keys, setKeys] = useState<ApiKey[]>([]);
  const [version, setVersion] = useState(0);
  const [target, setTarget] = useState("");
  const [day, setDay] = useState("");
  const [month, setMonth] = useState("");
  const [error, setError] = useState("");
  const [saved, setSaved] = useState("");
  const loadError = usePolling(
    async () => {
      const [u, k] = await Promise.all([
        request<UsageAll>("/v1/usage?key=all"),
        request<{ data: ApiKey[] }>("/v1/admin/keys"),
      ]);
      setUsage(u);
      setKeys(k.data);
    },
    30_000,
    [version],
  );
  const names = new Map(keys.map((k) => [k.id, k]));

  const save = async (e: Event) => {
    e.preventDefault();
    setError("");
    setSaved("");
    const value = (raw: string) => (raw.trim() === "" ? null : Number(raw));
    try {
      const key = await request<ApiKey>(`/v1/admin/keys/${encodeURIComponent(target)}`, {
        method: "PATCH",
        body: { gpu_seconds_per_day: value(day), gpu_seconds_per_month: value(month) },
      });
      setSaved(`Budgets of ${key.name} saved.`);
      setVersion((v) => v + 1);
    } catch (err) {
      setError(describeError(err));
    }
  };

  return (
    <>
      <h2>GPU usage</h2>
      {(error || loadError) && <p role="alert">{error || loadError}</p>}
      <div class="table-wrap">
        <table data-testid="usage-by-key">
          <caption>GPU usage per key{usage ? `, ${usage.from} to ${usage.to} (UTC)` : ""}</caption>
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Jobs</th>
              <th scope="col">Images</th>
              <th scope="col">GPU time</th>
              <th scope="col">Budget per day</th>
              <th scope="col">Budget per month</th>
            </tr>
          </thead>
          <tbody>
            {usage?.by_key?.map((row) => {
              const key = names.get(row.key);
              return (
                <tr key={row.key} data-key={row.key}>
                  <th scope="row">{row.name ?? row.key}</th>
                  <td>{row.jobs}</td>
                  <td>{row.images}</td>
                  <td>{seconds(row.gpu_seconds)}</td>
                  <td>{budget(key?.gpu_seconds_per_day)}</td>
                  <td>{budget(key?.gpu_seconds_per_month)}</td>
                </tr>
              );
            })}
            {usage && (usage.by_key?.length ?? 0) === 0 && (
              <tr>
                <td colSpan={6}>No GPU usage in this period.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <form class="card inline-form" onSubmit={save}>
        <div class="field">
          <label for="budget-key">Key</label>
          <select id="budget-key" required value={target} onChange={(e) => setTarget(e.currentTarget.value)}>
            <option value="">choose a key</option>
            {keys
              .filter((k) => !k.revoked_at)
              .map((k) => (
                <option key={k.id} value={k.id}>
                  {k.name}
                </option>
              ))}
          </select>
        </div>
        <div class="field">
          <label for="budget-day">GPU seconds per day</label>
          <input
            id="budget-day"
            type="number"
            min="0.001"
            step="any"
            placeholder="unlimited"
            value={day}
            onInput={(e) => setDay(e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="budget-month">GPU seconds per month</label>
          <input
            id="budget-month"
            type="number"
            min="0.001"
            step="any"
            placeholder="unlimited"
            value={month}
            onInput={(e) => setMonth(e.currentTarget.value)}
          />
        </div>
        <button type="submit">Set budgets</button>
      </form>
      {saved && <p role="status">{saved}</p>}
    </>
  );
}
