// The portal's access to the Big Peer's HTTP API: same-origin fetches that carry the session
// cookie, JSON errors turned into ApiError, and a 401 sending the user to the login page.

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

/**
 * Calls the API at `path` (e.g. "/api/v1/devices"); returns the parsed JSON (null for 204).
 * `options.json` is sent as a JSON body; a 401 goes to the login page unless `options.stayOn401`.
 */
export async function api(path, options = {}) {
  const init = { method: options.method ?? "GET", credentials: "same-origin", headers: { Accept: "application/json" } };
  if (options.json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.json);
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
