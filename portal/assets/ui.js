// Small DOM and formatting helpers shared by the portal's pages. Text always goes in through
// textContent, never innerHTML, so device-reported strings cannot inject markup.
import { api, ApiError } from "./api.js";

/** Creates `<tag>` with attributes (`class`, `for`, `aria-*`, properties starting with "on") and children (nodes or text). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** The first characters of a peer key, for tables (the full key goes in a title). */
export function shortKey(key) {
  return key.length > 12 ? `${key.slice(0, 12)}…` : key;
}

/** An RFC 3339 time as the browser's local date and time, or "—". */
export function dateTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** How long ago an RFC 3339 time was ("just now", "5 min ago"...), or "never". */
export function ago(iso, now = Date.now()) {
  if (!iso) return "never";
  const seconds = Math.round((now - new Date(iso).getTime()) / 1000);
  if (Number.isNaN(seconds)) return iso;
  if (seconds < 10) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

/** "Linux · Debian 12 (x86_64)" from a device's platform and os object. */
export function platformAndOs(device) {
  const os = device.os ?? {};
  const osText = [os.name, os.version].filter(Boolean).join(" ") + (os.arch ? ` (${os.arch})` : "");
  return [device.ditto_sdk_platform, osText.trim()].filter(Boolean).join(" · ") || "—";
}

/** "Python 0.1.0" from a device's SDK language and version. */
export function sdk(device) {
  return [device.ditto_sdk_language, device.ditto_sdk_version].filter(Boolean).join(" ") || "—";
}

/** "WebSocket 1, AccessPoint 2" from connections_by_transport (transports in use only), or "none". */
export function transports(device) {
  const counts = device.connections_by_transport ?? {};
  const used = Object.entries(counts).filter(([, n]) => n > 0);
  return used.length ? used.map(([name, n]) => `${name} ${n}`).join(", ") : "none";
}

/** Fills the status line `node` (an aria-live region) with `text`, marked as an error if `isError`. */
export function setStatus(node, text, isError = false) {
  node.textContent = text;
  node.classList.toggle("error", isError);
}

/** Wires the header's Log out button (every page but the login page has one). */
export function initHeader() {
  const logout = document.getElementById("logout");
  if (!logout) return;
  logout.addEventListener("click", async () => {
    try {
      await api("/api/v1/session", { method: "DELETE", stayOn401: true });
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
    }
    location.assign("/login.html");
  });
}

/** Calls `task` now and every `ms` milliseconds, never overlapping; returns a stop function. */
export function poll(task, ms) {
  let timer = null;
  let stopped = false;
  const run = async () => {
    try {
      await task();
    } finally {
      if (!stopped) timer = setTimeout(run, ms);
    }
  };
  run();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
