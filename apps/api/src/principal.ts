import type { KeyLimits, KeyRole } from "@zimage/core";

/** Who is calling: the API key behind the request (or the implicit local admin in open local mode). */
export interface Principal {
  id: string;
  name: string;
  role: KeyRole;
  limits: KeyLimits;
}

export const isAdmin = (p: Principal) => p.role === "admin";
