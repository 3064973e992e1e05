import { useState } from "preact/hooks";
import { describeError } from "../api";
import { signIn } from "../session";
import type { Session } from "../types";

export function SignInScreen({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      const session = await signIn(key.trim());
      setKey("");
      onSignedIn(session);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="page narrow signin">
      <p class="brand">
        <span class="logo" aria-hidden="true">
          Z
        </span>
        Z-Image Gateway
      </p>
      <h1>Sign in</h1>
      <form onSubmit={submit} class="card">
        <label for="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autoComplete="off"
          spellcheck={false}
          required
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
          aria-describedby="api-key-hint"
          aria-invalid={error ? "true" : undefined}
        />
        <p id="api-key-hint" class="hint">
          Your key (<code>zk_…</code>) from an admin. It is exchanged for a session cookie and not kept in
          this browser.
        </p>
        {error && <p role="alert">{error}</p>}
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
