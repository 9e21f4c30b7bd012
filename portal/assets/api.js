// The portal's access to the Big Peer's HTTP API: same-origin fetches that carry the session
// cookie, JSON errors turned into ApiError, and a 401 sending the user to the login page. Requests
// that change state are sent as JSON with the session's CSRF token (X-CSRF-Token), which the Big
// Peer requires of cookie-authenticated POST, PUT, PATCH and DELETE (bigpeer/README.md, "CSRF").

/** An API error: the HTTP status and the API's {"error":{"code","message"}}. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** The login page's URL, coming back to the current page afterwards. */
export function loginUrl() {
  return `/login.html?next=${encodeURIComponent(location.pathname + location.search + location.hash)}`;
}

// The session's CSRF token, fetched once per page (a login or logout loads another page).
let csrfToken = null;

/** The session's CSRF token from GET /api/v1/session (null when not logged in). */
async function sessionCsrfToken() {
  if (csrfToken === null) {
    const response = await fetch("/api/v1/session", { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.ok) csrfToken = (await response.json()).csrf_token ?? null;
  }
  return csrfToken;
}

/**
 * Calls the API at `path` (e.g. "/api/v1/devices"); returns the parsed JSON (null for 204).
 * `options.json` is sent as a JSON body; a 401 goes to the login page unless `options.stayOn401`;
 * `options.noCsrf` skips fetching the CSRF token (the login, which has no session yet).
 */
export async function api(path, options = {}) {
  const method = options.method ?? "GET";
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (options.json !== undefined) init.body = JSON.stringify(options.json);
  if (method !== "GET" && method !== "HEAD") {
    init.headers["Content-Type"] = "application/json";
    const token = options.noCsrf ? null : await sessionCsrfToken();
    if (token) init.headers["X-CSRF-Token"] = token;
  }
  const response = await fetch(path, init);
  if (!response.ok) {
    let code = "http_error";
    let message = `HTTP ${response.status}`;
    try {
      const body = await response.json();
      code = body?.error?.code ?? code;
      message = body?.error?.message ?? message;
    } catch {
      // Not JSON: keep the status as the message.
    }
    if (response.status === 401 && !options.stayOn401) location.assign(loginUrl());
    throw new ApiError(response.status, code, message);
  }
  if (response.status === 204) return null;
  return response.json();
}

/** Every device of the fleet, following the API's pages. */
export async function allDevices() {
  const devices = [];
  let after = null;
  do {
    const query = new URLSearchParams({ limit: "1000" });
    if (after) query.set("after", after);
    const page = await api(`/api/v1/devices?${query}`);
    devices.push(...page.devices);
    after = page.next_after;
  } while (after);
  return devices;
}
