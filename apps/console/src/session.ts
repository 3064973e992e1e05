import { request } from "./api";
import type { Session } from "./types";

/** Who is signed in: null when nobody is (401). In open local mode the gateway signs us in itself. */
export async function currentSession(): Promise<Session | null> {
  try {
    return await request<Session>("/v1/session");
  } catch (err) {
    if ((err as { status?: number }).status === 401) return null;
    throw err;
  }
}

/** Exchanges the key for the HttpOnly session cookie; the key is not kept anywhere in the page. */
export const signIn = (key: string) => request<Session>("/v1/session", { method: "POST", body: { key } });

export const signOut = () => request<void>("/v1/session", { method: "DELETE" });
