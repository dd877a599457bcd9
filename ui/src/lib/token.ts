// The bearer token lives in this tab's session storage only: gone when the tab closes, never
// in local storage or a cookie, never in the address bar for longer than it takes to read it.
const KEY = "mti.bearer-token";

export function storedToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function storeToken(token: string | null): void {
  if (token) sessionStorage.setItem(KEY, token);
  else sessionStorage.removeItem(KEY);
}

/** Take `#token=<jwt>` out of the address (so it is neither shared nor kept in history). */
export function takeTokenFromFragment(location: Location, history: History): string | null {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
  const token = fragment.get("token");
  if (!token) return null;
  fragment.delete("token");
  const rest = fragment.toString();
  history.replaceState(history.state, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
  return token.trim();
}

/** The token's claims, read without trusting them (the shim alone decides what is valid). */
function claims(token: string | null): Record<string, unknown> | null {
  const payload = token?.split(".")[1];
  if (!payload) return null;
  try {
    const binary = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const json = new TextDecoder().decode(Uint8Array.from(binary, (char) => char.charCodeAt(0)));
    const parsed: unknown = JSON.parse(json);
    return parsed && typeof parsed === "object" ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The token's subject, for the CLI command and the "Signed in as" line. */
export function tokenSubject(token: string | null): string | null {
  const sub = claims(token)?.sub;
  return typeof sub === "string" ? sub : null;
}

export const EXPIRED_NOTICE = "Your session expired. Sign in again; your edits are kept.";
export const INVALID_NOTICE = "The shim refused the token: it is not a valid token.";
export const EXPIRED_TOKEN = "The shim refused the token: it has expired.";

/** Why the shim answered 401: its `detail` says ("token expired", "invalid token"); without
 * one, the token's own `exp` claim. */
export function refusal(detail: string | null | undefined, token: string | null, now = Date.now()): "expired" | "invalid" {
  if (detail === "token expired") return "expired";
  if (detail === "invalid token") return "invalid";
  const exp = claims(token)?.exp;
  return typeof exp === "number" && exp * 1000 <= now ? "expired" : "invalid";
}
