// The device page: its summary, log requests (with the "Request logs" dialog), a day of its reports
// charted (disk, connections; missed reports break the lines), Big Peer connection history,
// metadata and the Small Peer Info document as formatted JSON. Refreshes every few seconds, so a log
// request's status and progress move by themselves.
import { api, ApiError } from "./api.js";
import { COLORS, dataTable, showChart } from "./chart_view.js";
import { ago, dateTime, el, initHeader, platformAndOs, poll, sdk, setStatus, transports } from "./ui.js";

const REFRESH_MS = 3000;
const HISTORY_REFRESH_MS = 30000;
const GB = 1e9;
const ACTIVE_STATES = new Set(["pending", "delivered", "uploading"]);

const $ = (id) => document.getElementById(id);
const key = new URLSearchParams(location.search).get("key") ?? "";
const path = `/api/v1/devices/${encodeURIComponent(key)}`;
const dialog = $("log-dialog");

function fact(term, ...value) {
  return [el("dt", {}, term), el("dd", {}, ...value)];
}

function renderDevice(d) {
  const name = d.device_name ?? "(unnamed)";
  $("device-title").textContent = name;
  document.title = `${name} · SmallPeer Big Peer`;
  const info = d.small_peer_info ?? {};
  $("summary").replaceChildren(
    ...fact("Device name", name),
    ...fact("Peer key", el("code", {}, d.peer_key)),
    ...fact("Online", el("span", { class: d.online ? "badge online" : "badge offline" }, d.online ? "Online" : "Offline")),
    ...fact("Last seen", d.online ? "now" : `${ago(d.last_seen)} (${dateTime(d.last_seen)})`),
    ...fact("Platform and OS", platformAndOs(d)),
    ...fact("SDK", sdk(d) + (info.ditto_sdk_commit ? ` (commit ${info.ditto_sdk_commit})` : "")),
    ...fact("Sync scope", d.sync_scope ?? "—"),
    ...fact("Transports", transports(d)),
    ...fact("Connected from", d.connection ? `${d.connection.remote_address} since ${dateTime(d.connection.connected_at)}` : "—"),
    ...fact("Last report", d.last_updated_at ? `${dateTime(d.last_updated_at)} (sequence ${d.sequence})` : "none yet"),
  );
  const history = [...(info.big_peer_connection_history ?? [])].reverse();
  $("history").querySelector("tbody").replaceChildren(
    ...(history.length
      ? history.map((h) => el("tr", {}, el("td", {}, dateTime(h.timestamp)), el("td", {}, h.event), el("td", {}, h.reason ?? "")))
      : [el("tr", {}, el("td", { colspan: 3, class: "empty" }, "No connection events reported."))]),
  );
  $("metadata").textContent = JSON.stringify(info.metadata ?? {}, null, 2);
  $("spi").textContent = d.small_peer_info ? JSON.stringify(d.small_peer_info, null, 2) : "This device has not reported a Small Peer Info document.";
}

function filterText(r) {
  const parts = [`${r.min_level} and above`];
  if (r.since || r.until) parts.push(`${r.since ? dateTime(r.since) : "start"} to ${r.until ? dateTime(r.until) : "now"}`);
  if (r.max_bytes) parts.push(`at most ${Math.round(r.max_bytes / 1024)} KiB`);
  return parts.join("; ");
}

function progressCell(r) {
  if (r.bytes_total) {
    const percent = Math.min(100, Math.round((100 * r.bytes_received) / r.bytes_total));
    return [el("progress", { max: r.bytes_total, value: r.bytes_received, "aria-label": `Progress ${percent}%` }), ` ${percent}%`];
  }
  return r.bytes_received ? `${r.bytes_received} bytes` : "—";
}

function renderLogRequests(list) {
  $("log-requests").querySelector("tbody").replaceChildren(
    ...(list.length
      ? list.map((r) =>
          el(
            "tr",
            { "data-id": r.id, "data-state": r.state },
            el("td", {}, el("time", { datetime: r.requested_at }, dateTime(r.requested_at)), r.requested_by === "device" ? " (by the device)" : ""),
            el("td", {}, filterText(r)),
            el("td", {}, el("span", { class: `badge state-${r.state}` }, r.state), r.reason ? ` ${r.reason}` : ""),
            el("td", {}, progressCell(r)),
            el("td", {}, r.download_url ? el("a", { class: "button", href: r.download_url, download: "" }, "Download") : "—"),
          ),
        )
      : [el("tr", {}, el("td", { colspan: 5, class: "empty" }, "No log requests yet."))]),
  );
}

async function refresh() {
  try {
    const device = await api(path);
    renderDevice(device);
    setStatus($("status"), `Updated ${new Date().toLocaleTimeString()}.`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    setStatus($("status"), e instanceof ApiError && e.status === 404 ? `No device with peer key ${key}.` : `Could not load the device: ${e.message}`, true);
    return;
  }
  try {
    const { log_requests: list } = await api(`${path}/log-requests`);
    renderLogRequests(list);
    const active = list.some((r) => ACTIVE_STATES.has(r.state));
    setStatus($("logs-status"), active ? "A log request is in progress; this table updates by itself." : "");
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    setStatus($("logs-status"), `Log requests are unavailable: ${e.message}`, true);
  }
}

/** Bytes as GB with two decimals, or null (a gap in a chart) when the report lacks them. */
function gb(bytes) {
  return typeof bytes === "number" ? Math.round((bytes / GB) * 100) / 100 : null;
}

function connectionCount(r) {
  return r.connections ? Object.values(r.connections).reduce((a, b) => a + b, 0) : null;
}

/** Charts the last day of reports; a run of missed reports is a null point, so the lines break there. */
function renderReports(history) {
  const points = [];
  for (const r of history.reports) {
    if (r.missed_before) points.push({ label: `${r.missed_before} missed`, missed: r.missed_before });
    points.push({ label: new Date(r.received_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }), report: r });
  }
  const series = (f) => points.map((p) => (p.report ? f(p.report) : null));
  const line = (label, data, color, extra = {}) => ({ label, data, borderColor: color, backgroundColor: color, pointRadius: points.length < 60 ? 3 : 0, spanGaps: false, ...extra });
  const labels = points.map((p) => p.label);
  const axes = { scales: { y: { beginAtZero: true }, x: { ticks: { maxTicksLimit: 12 } } } };
  showChart("disk-chart", "line", labels, [
    line("Free", series((r) => gb(r.disk?.device_available)), COLORS[1]),
    line("Ditto store", series((r) => gb(r.disk?.ditto_store)), COLORS[0]),
    line("Ditto logs", series((r) => gb(r.disk?.ditto_logs)), COLORS[2]),
  ], axes);
  showChart("connections-chart", "line", labels, [
    line("Connections", series(connectionCount), COLORS[0], { stepped: true }),
    line("Connected peers", series((r) => r.connected_peers ?? null), COLORS[4], { stepped: true }),
    line("Big Peer (1 = connected)", series((r) => (typeof r.is_connected_to_big_peer === "boolean" ? Number(r.is_connected_to_big_peer) : null)), COLORS[1], { stepped: true }),
  ], { scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, x: { ticks: { maxTicksLimit: 12 } } } });
  dataTable(
    "reports-data",
    ["Received", "Sequence", "Free disk (GB)", "Ditto store (GB)", "Connections", "Big Peer", "Missed before"],
    [...history.reports].reverse().map((r) => [
      dateTime(r.received_at),
      String(r.sequence),
      String(gb(r.disk?.device_available) ?? "—"),
      String(gb(r.disk?.ditto_store) ?? "—"),
      String(connectionCount(r) ?? "—"),
      r.is_connected_to_big_peer === undefined ? "—" : r.is_connected_to_big_peer ? "connected" : "not connected",
      r.sequence_reset ? "sequence restarted" : String(r.missed_before ?? 0),
    ]),
  );
  const n = history.reports.length;
  const missed = history.missed ? `, ${history.missed} missed (sequence gaps)` : ", none missed";
  const charts = window.Chart ? "" : " Chart.js did not load (/assets/vendor/chart.min.js): the data table has every report.";
  setStatus($("reports-status"), (n ? `${n} report${n === 1 ? "" : "s"} received in the last 24 hours${missed}.` : "No reports in the last 24 hours.") + charts, !window.Chart);
}

async function refreshHistory() {
  try {
    renderReports(await api(`${path}/history`));
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 404)) return;
    setStatus($("reports-status"), `Report history is unavailable: ${e.message}`, true);
  }
}

// datetime-local gives local wall time without a zone; the API wants RFC 3339.
function rfc3339(input) {
  if (!input.value) return undefined;
  const d = new Date(input.value);
  if (Number.isNaN(d.getTime())) throw new Error(`${input.labels[0].textContent} is not a valid date and time`);
  return d.toISOString();
}

function requestBody() {
  const body = { min_level: $("log-level").value };
  const since = rfc3339($("log-since"));
  const until = rfc3339($("log-until"));
  if (since && until && since > until) throw new Error("From must be before To");
  if (since) body.since = since;
  if (until) body.until = until;
  const cap = $("log-cap").value.trim();
  if (cap) {
    const kib = Number(cap);
    if (!Number.isInteger(kib) || kib < 1) throw new Error("The size cap must be a whole number of KiB, at least 1");
    body.max_bytes = kib * 1024;
  }
  return body;
}

$("request-logs").addEventListener("click", () => {
  $("log-error").textContent = "";
  dialog.showModal();
  $("log-level").focus();
});
$("log-cancel").addEventListener("click", () => dialog.close());
$("log-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("log-error").textContent = "";
  let body;
  try {
    body = requestBody();
  } catch (e) {
    $("log-error").textContent = e.message;
    return;
  }
  $("log-submit").disabled = true;
  try {
    const created = await api(`${path}/log-requests`, { method: "POST", json: body });
    dialog.close();
    setStatus($("logs-status"), `Log request ${created.id} created (${created.state}).`);
    $("request-logs").focus();
    await refresh();
  } catch (e) {
    $("log-error").textContent = `The request was refused: ${e.message}`;
  } finally {
    $("log-submit").disabled = false;
  }
});

initHeader();
if (!key) {
  setStatus($("status"), "No device given: open a device from the dashboard.", true);
} else {
  poll(refresh, REFRESH_MS);
  poll(refreshHistory, HISTORY_REFRESH_MS);
}
