import { useEffect, useState } from "preact/hooks";
import { describeError, setSignedOutHandler } from "./api";
import { navigate, type Route, useRoute } from "./router";
import { AdminScreen } from "./screens/admin";
import { BatchesScreen } from "./screens/batches";
import { CreateScreen } from "./screens/create";
import { GalleryScreen } from "./screens/gallery";
import { JobsScreen } from "./screens/jobs";
import { SignInScreen } from "./screens/sign-in";
import { currentSession, signOut } from "./session";
import type { Session } from "./types";

const LINKS: Array<{ route: Route; label: string; admin?: boolean }> = [
  { route: "create", label: "Create" },
  { route: "jobs", label: "My jobs" },
  { route: "batches", label: "Batches" },
  { route: "gallery", label: "Gallery" },
  { route: "admin", label: "Admin", admin: true },
];

export function App() {
  // undefined: not known yet; null: nobody signed in.
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [loadError, setLoadError] = useState("");
  const [notice, setNotice] = useState("");
  const route = useRoute();

  useEffect(() => {
    setSignedOutHandler(() => setSession(null));
    currentSession()
      .then(setSession)
      .catch((err) => setLoadError(describeError(err)));
  }, []);

  useEffect(() => {
    if (!notice) return;
    const timer = setTimeout(() => setNotice(""), 8000);
    return () => clearTimeout(timer);
  }, [notice]);

  if (session === undefined) {
    return (
      <main class="page narrow">
        {loadError ? (
          <p role="alert">{loadError}</p>
        ) : (
          <p class="muted" aria-live="polite">
            Loading…
          </p>
        )}
      </main>
    );
  }
  if (session === null) return <SignInScreen onSignedIn={setSession} />;

  const isAdmin = session.principal.role === "admin";
  const leave = async () => {
    try {
      await signOut();
    } catch (err) {
      // The gateway never cleared the cookie, so this browser is still signed in: say so, stay.
      setNotice(`Could not sign out: ${describeError(err)}`);
      return;
    }
    setSession(null);
    navigate("create");
  };

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/create">
          <span class="logo" aria-hidden="true">
            Z
          </span>
          Z-Image Gateway
        </a>
        <nav aria-label="Main">
          <ul>
            {LINKS.filter((l) => !l.admin || isAdmin).map((l) => (
              <li key={l.route}>
                <a href={`#/${l.route}`} aria-current={route === l.route ? "page" : undefined}>
                  {l.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span class="muted">
            {session.principal.name}
            {isAdmin ? " · admin" : ""}
          </span>
          {session.open_mode ? (
            <span class="badge" title="No API keys exist yet and the gateway is only on this machine">
              open local mode
            </span>
          ) : (
            <button type="button" class="ghost" onClick={leave}>
              Sign out
            </button>
          )}
        </div>
      </header>
      <main id="main" class="page">
        <p role="status" class="notice" aria-live="polite">
          {notice}
        </p>
        {route === "create" && <CreateScreen onSubmitted={(msg) => setNotice(msg)} />}
        {route === "jobs" && <JobsScreen session={session} onNotice={setNotice} />}
        {route === "batches" && <BatchesScreen onNotice={setNotice} />}
        {route === "gallery" && <GalleryScreen session={session} onNotice={setNotice} />}
        {route === "admin" &&
          (isAdmin ? (
            <AdminScreen />
          ) : (
            <section>
              <h1>Admin</h1>
              <p>This page needs an admin key.</p>
            </section>
          ))}
      </main>
    </>
  );
}
