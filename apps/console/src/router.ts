import { useEffect, useState } from "preact/hooks";

export const ROUTES = ["create", "jobs", "batches", "gallery", "admin"] as const;
export type Route = (typeof ROUTES)[number];

function parse(hash: string): Route {
  // A screen may take a sub-path (`#/batches/<id>`): the first segment names the screen.
  const name = hash.replace(/^#\/?/, "").split("/")[0]!;
  return (ROUTES as readonly string[]).includes(name) ? (name as Route) : "create";
}

/** Hash routing: every screen is a URL (`#/jobs`) that reloads and bookmarks, with no server fallback. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parse(location.hash));
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

export const navigate = (route: Route) => {
  location.hash = `#/${route}`;
};
