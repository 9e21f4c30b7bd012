// The Device Dashboard: the fleet table with search, filters (stale: a report overdue by two
// collection intervals), sorting and pagination, done in the browser over the whole fleet list,
// which it fetches again every few seconds (live updates); a row menu (open, request logs, copy
// the peer key) and a CSV export of the current view. Metadata filters offer the keys and values
// the fleet reports; the advanced filter is a DQL condition the Big Peer evaluates (POST
// /api/v1/query) to the set of matching peer keys. The filters and the sort are kept in the URL
// (?q=&connection=&platform=&sdk=&meta_key=&meta_value=&where=&sort=&order=), so a view can be shared.
import { allDevices, api, ApiError } from "./api.js";
import { ago, dateTime, el, initHeader, platformAndOs, poll, sdk, setStatus, shortKey, transports } from "./ui.js";

/** How often the table refreshes. */
const REFRESH_MS = 3000;

const state = {
  devices: [],
  sortKey: "name",
  ascending: true,
  page: 0,
  loaded: false,
  metadata: new Map(), // peer key -> metadata object, from the reports
  whereKeys: null, // peer keys matching the advanced condition, or null when there is none
};
/** How often the metadata (larger than the fleet list) and the advanced filter's matches refresh. */
const QUERY_REFRESH_MS = 15000;
/** Items per POST /api/v1/query page (within the Big Peer's default row cap). */
const QUERY_PAGE = 1000;
const $ = (id) => document.getElementById(id);
const search = $("search");
const onlineFilter = $("filter-online");
const platformFilter = $("filter-platform");
const sdkFilter = $("filter-sdk");
const pageSize = $("page-size");
const metaKeyFilter = $("filter-meta-key");
const metaValueFilter = $("filter-meta-value");
const whereInput = $("filter-where");
const tbody = document.querySelector("#devices tbody");
const status = $("status");

const text = (s) => (s ?? "").toString();
const sortValues = {
  name: (d) => text(d.device_name ?? d.peer_key).toLowerCase(),
  key: (d) => d.peer_key,
  platform: (d) => platformAndOs(d).toLowerCase(),
  sdk: (d) => sdk(d).toLowerCase(),
  online: (d) => (d.online ? 1 : 0),
  seen: (d) => (d.last_seen ? new Date(d.last_seen).getTime() : 0),
  report: (d) => (d.last_updated_at ? new Date(d.last_updated_at).getTime() : 0),
  disk: (d) => d.disk_available ?? -1,
  scope: (d) => text(d.sync_scope),
};

function compare(a, b) {
  const va = sortValues[state.sortKey](a);
  const vb = sortValues[state.sortKey](b);
  const order = typeof va === "number" ? va - vb : va.localeCompare(vb, undefined, { numeric: true });
  // Ties keep a stable order by peer key, so rows do not jump between refreshes.
  return (state.ascending ? order : -order) || a.peer_key.localeCompare(b.peer_key);
}

function matches(d) {
  const q = search.value.trim().toLowerCase();
  if (q && !text(d.device_name).toLowerCase().includes(q) && !d.peer_key.toLowerCase().includes(q)) return false;
  if (onlineFilter.value === "online" && !d.online) return false;
  if (onlineFilter.value === "offline" && d.online) return false;
  if (onlineFilter.value === "stale" && !d.stale) return false;
  if (platformFilter.value && d.ditto_sdk_platform !== platformFilter.value) return false;
  if (sdkFilter.value && d.ditto_sdk_version !== sdkFilter.value) return false;
  if (metaKeyFilter.value) {
    const metadata = state.metadata.get(d.peer_key) ?? {};
    if (!(metaKeyFilter.value in metadata)) return false;
    if (metaValueFilter.value && metaText(metadata[metaKeyFilter.value]) !== metaValueFilter.value) return false;
  }
  if (state.whereKeys && !state.whereKeys.has(d.peer_key)) return false;
  return true;
}

// Keeps a filter's options equal to the values the fleet has, keeping the user's choice.
function fillOptions(select, values, allLabel = "All") {
  const chosen = select.value;
  const wanted = ["", ...[...new Set(values.filter(Boolean))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))];
  if (chosen && !wanted.includes(chosen)) wanted.push(chosen);
  const have = [...select.options].map((o) => o.value);
  if (have.join("\n") === wanted.join("\n")) return;
  select.replaceChildren(...wanted.map((v) => el("option", { value: v }, v || allLabel)));
  select.value = chosen;
}

/** Bytes as a short size in binary units ("1.4 GiB"), or "—". */
function size(bytes) {
  if (bytes === null || bytes === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

const deviceUrl = (d) => `/device.html?key=${encodeURIComponent(d.peer_key)}`;

function row(d) {
  const href = deviceUrl(d);
  const name = d.device_name ?? "(unnamed)";
  return el(
    "tr",
    { "data-peer-key": d.peer_key },
    el("td", {}, el("a", { href }, d.device_name ?? "(unnamed)")),
    el("td", {}, el("code", { title: d.peer_key }, shortKey(d.peer_key))),
    el("td", {}, platformAndOs(d)),
    el("td", {}, sdk(d)),
    el(
      "td",
      {},
      el("span", { class: d.online ? "badge online" : "badge offline" }, d.online ? "Online" : "Offline"),
      d.stale ? el("span", { class: "badge stale", title: "The last report is older than two collection intervals" }, "Stale") : null,
    ),
    el("td", {}, el("time", { datetime: d.last_seen ?? "", title: dateTime(d.last_seen) }, d.online ? "now" : ago(d.last_seen))),
    el("td", {}, d.last_updated_at ? el("time", { datetime: d.last_updated_at, title: dateTime(d.last_updated_at) }, ago(d.last_updated_at)) : "—"),
    el("td", {}, size(d.disk_available)),
    el("td", {}, transports(d)),
    el("td", {}, d.sync_scope ?? "—"),
    el(
      "td",
      {},
      el(
        "button",
        {
          type: "button",
          class: "row-menu",
          "aria-haspopup": "menu",
          "aria-expanded": menu.device?.peer_key === d.peer_key ? "true" : "false",
          "aria-label": `Actions for ${name}`,
          onclick: (event) => openMenu(d, event.currentTarget),
        },
        "⋯",
      ),
    ),
  );
}

// ---- The row menu: one menu element outside the table, so a refresh does not close it.
const menu = { node: $("row-menu"), device: null, opener: null };

function openMenu(device, button) {
  if (menu.device?.peer_key === device.peer_key && !menu.node.hidden) return closeMenu();
  menu.device = device;
  menu.opener = button;
  const box = button.getBoundingClientRect();
  menu.node.style.top = `${box.bottom + window.scrollY + 4}px`;
  menu.node.style.left = `${Math.max(8, box.right + window.scrollX - 180)}px`;
  menu.node.hidden = false;
  button.setAttribute("aria-expanded", "true");
  menu.node.querySelector("button").focus();
}

function closeMenu(refocus = false) {
  if (menu.node.hidden) return;
  menu.node.hidden = true;
  const opener = document.querySelector(`#devices button.row-menu[aria-expanded="true"]`);
  opener?.setAttribute("aria-expanded", "false");
  if (refocus) opener?.focus();
  menu.device = null;
}

async function menuAction(action, device) {
  const name = device.device_name ?? device.peer_key;
  if (action === "open") {
    location.assign(deviceUrl(device));
  } else if (action === "copy") {
    try {
      await navigator.clipboard.writeText(device.peer_key);
      setStatus(status, `Copied the peer key of ${name}.`);
    } catch {
      setStatus(status, `Could not copy; the peer key of ${name} is ${device.peer_key}`, true);
    }
  } else if (action === "logs") {
    try {
      const request = await api(`/api/v1/devices/${encodeURIComponent(device.peer_key)}/log-requests`, { method: "POST", json: {} });
      setStatus(status, `Requested logs from ${name} (request ${request.id}, ${request.state}); follow it on the device page.`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      setStatus(status, `Could not request logs from ${name}: ${e.message}`, true);
    }
  }
}

menu.node.addEventListener("click", (event) => {
  const item = event.target.closest("button[data-action]");
  if (!item || !menu.device) return;
  const device = menu.device;
  closeMenu(true);
  menuAction(item.dataset.action, device);
});
menu.node.addEventListener("keydown", (event) => {
  const items = [...menu.node.querySelectorAll("button")];
  const at = items.indexOf(document.activeElement);
  if (event.key === "Escape") {
    event.preventDefault();
    closeMenu(true);
  } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    items[(at + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length].focus();
  }
});
document.addEventListener("click", (event) => {
  if (!menu.node.contains(event.target) && !event.target.closest("button.row-menu")) closeMenu();
});

// ---- CSV: the current view (every page), as a spreadsheet opens it.
const CSV_COLUMNS = [
  ["device_name", (d) => d.device_name ?? ""],
  ["peer_key", (d) => d.peer_key],
  ["platform_and_os", (d) => platformAndOs(d)],
  ["sdk", (d) => sdk(d)],
  ["online", (d) => String(d.online)],
  ["stale", (d) => String(d.stale === true)],
  ["last_seen", (d) => d.last_seen ?? ""],
  ["last_report", (d) => d.last_updated_at ?? ""],
  ["disk_available_bytes", (d) => (d.disk_available ?? "").toString()],
  ["sync_scope", (d) => d.sync_scope ?? ""],
];

/** One CSV field (RFC 4180): quoted when it holds a comma, quote or line break; a leading =, +, - or @ is prefixed with ' so a spreadsheet does not run it. */
function csvField(value) {
  let text = String(value);
  if (/^[=+\-@]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function exportCsv() {
  const shown = state.devices.filter(matches).sort(compare);
  const lines = [CSV_COLUMNS.map(([name]) => name).join(","), ...shown.map((d) => CSV_COLUMNS.map(([, get]) => csvField(get(d))).join(","))];
  const blob = new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv" });
  const link = el("a", { href: URL.createObjectURL(blob), download: `devices-${new Date().toISOString().slice(0, 19).replaceAll(":", "-")}Z.csv` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

// ---- The URL keeps the filters and the sort.
function saveView() {
  const query = new URLSearchParams();
  if (search.value.trim()) query.set("q", search.value.trim());
  if (onlineFilter.value) query.set("connection", onlineFilter.value);
  if (platformFilter.value) query.set("platform", platformFilter.value);
  if (sdkFilter.value) query.set("sdk", sdkFilter.value);
  if (metaKeyFilter.value) query.set("meta_key", metaKeyFilter.value);
  if (metaKeyFilter.value && metaValueFilter.value) query.set("meta_value", metaValueFilter.value);
  if (whereInput.value.trim()) query.set("where", whereInput.value.trim());
  if (state.sortKey !== "name") query.set("sort", state.sortKey);
  if (!state.ascending) query.set("order", "desc");
  const text = query.toString();
  history.replaceState(null, "", text ? `${location.pathname}?${text}` : location.pathname);
}

function loadView() {
  const query = new URLSearchParams(location.search);
  search.value = query.get("q") ?? "";
  if ([...onlineFilter.options].some((o) => o.value === query.get("connection"))) onlineFilter.value = query.get("connection");
  // The platform and SDK options come with the fleet; fillOptions keeps a chosen value meanwhile.
  whereInput.value = query.get("where") ?? "";
  for (const [select, key] of [
    [platformFilter, "platform"],
    [sdkFilter, "sdk"],
    [metaKeyFilter, "meta_key"],
    [metaValueFilter, "meta_value"],
  ]) {
    const value = query.get(key);
    if (value) {
      select.append(el("option", { value }, value));
      select.value = value;
    }
  }
  if (query.get("sort") in sortValues) state.sortKey = query.get("sort");
  state.ascending = query.get("order") !== "desc";
}

/** A metadata value as the filter shows it: strings as they are, anything else as JSON. */
function metaText(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * Every item of `select` (a SELECT of `_id` and more, with a WHERE clause when `where` is given),
 * paged by `_id > :page_after ORDER BY _id`, so the Big Peer's row cap never cuts it and each page
 * costs the same (an OFFSET page reads and skips every row before it).
 */
async function queryAll(select, where) {
  const items = [];
  let after = "";
  for (;;) {
    const condition = where ? `_id > :page_after AND (${where})` : "_id > :page_after";
    const query = `${select} WHERE ${condition} ORDER BY _id LIMIT ${QUERY_PAGE}`;
    const page = await api("/api/v1/query", { method: "POST", json: { query, args: { page_after: after } } });
    items.push(...page.items);
    // A Big Peer started with a --query-max-rows below QUERY_PAGE marks its short pages truncated.
    if (!page.truncated && page.items.length < QUERY_PAGE) return items;
    const last = page.items[page.items.length - 1]._id;
    // A condition that closes its own parenthesis ("a) OR (b") escapes the paging bound; stop, not loop.
    if (!(last > after)) throw new Error("query: the condition's parentheses do not balance");
    after = last;
  }
}

async function refreshMetadata() {
  const items = await queryAll("SELECT _id, metadata FROM __small_peer_info");
  state.metadata = new Map(items.map((item) => [item._id, item.metadata && typeof item.metadata === "object" ? item.metadata : {}]));
}

/** Runs the advanced condition; a bad one shows the Big Peer's message and filters nothing. */
async function refreshWhere() {
  const condition = whereInput.value.trim();
  $("where-error").textContent = "";
  if (!condition) {
    state.whereKeys = null;
    return;
  }
  try {
    const items = await queryAll(SELECT_IDS, condition);
    state.whereKeys = new Set(items.map((item) => item._id));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    state.whereKeys = null;
    $("where-error").textContent = `Advanced filter: ${conditionError(e.message, condition.length)}`;
  }
}

const SELECT_IDS = "SELECT _id FROM __small_peer_info";
/** The text before the user's condition in the query queryAll sends, for positions in its errors. */
const WHERE_PREFIX = `${SELECT_IDS} WHERE _id > :page_after AND (`;

/** The Big Peer's message about the whole query, with its position counted in the condition the user wrote. */
function conditionError(message, conditionLength) {
  return message.replace(/^query: /, "").replace(/at position (\d+)(, found .*)?$/, (_, position, found) => {
    const at = Number(position) - WHERE_PREFIX.length;
    return at > conditionLength ? "at the end of the condition" : `at position ${at} of the condition${found ?? ""}`;
  });
}

async function refreshQueries() {
  try {
    await Promise.all([refreshMetadata(), refreshWhere()]);
    render();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    setStatus(status, `Could not load metadata: ${e.message}`, true);
  }
}

function render() {
  fillOptions(platformFilter, state.devices.map((d) => d.ditto_sdk_platform));
  fillOptions(sdkFilter, state.devices.map((d) => d.ditto_sdk_version));
  const metadatas = [...state.metadata.values()];
  fillOptions(metaKeyFilter, metadatas.flatMap((m) => Object.keys(m)), "Any");
  fillOptions(
    metaValueFilter,
    metaKeyFilter.value ? metadatas.filter((m) => metaKeyFilter.value in m).map((m) => metaText(m[metaKeyFilter.value])) : [],
    "Any",
  );
  metaValueFilter.disabled = !metaKeyFilter.value;
  const shown = state.devices.filter(matches).sort(compare);
  const size = Number(pageSize.value);
  const pages = Math.max(1, Math.ceil(shown.length / size));
  state.page = Math.min(state.page, pages - 1);
  const slice = shown.slice(state.page * size, (state.page + 1) * size);
  tbody.replaceChildren(
    ...(slice.length ? slice.map(row) : [el("tr", {}, el("td", { colspan: 11, class: "empty" }, state.loaded ? "No device matches." : "Loading…"))]),
  );
  $("page-info").textContent = `Page ${state.page + 1} of ${pages}`;
  $("prev").disabled = state.page === 0;
  $("next").disabled = state.page >= pages - 1;
  for (const th of document.querySelectorAll("#devices th[aria-sort]")) {
    const key = th.querySelector("button").dataset.sort;
    th.setAttribute("aria-sort", key === state.sortKey ? (state.ascending ? "ascending" : "descending") : "none");
  }
  return shown.length;
}

async function refresh() {
  try {
    state.devices = await allDevices();
    state.loaded = true;
    const matching = render();
    const online = state.devices.filter((d) => d.online).length;
    const stale = state.devices.filter((d) => d.stale).length;
    $("summary").textContent = `${state.devices.length} devices · ${online} online · ${stale} stale`;
    setStatus(
      status,
      `${state.devices.length} devices, ${online} online; ${matching} shown. Updated ${new Date().toLocaleTimeString()}, refreshing every ${REFRESH_MS / 1000} s.`,
    );
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    setStatus(status, `Could not load devices: ${e.message}`, true);
  }
}

for (const control of [search, onlineFilter, platformFilter, sdkFilter, metaValueFilter, pageSize]) {
  control.addEventListener(control === search ? "input" : "change", () => {
    state.page = 0;
    render();
    saveView();
  });
}
metaKeyFilter.addEventListener("change", () => {
  metaValueFilter.value = "";
  render();
  saveView();
});
// Enter in the advanced box (or Apply) runs the condition.
$("filters").addEventListener("submit", (e) => {
  e.preventDefault();
  state.page = 0;
  refreshWhere().then(() => {
    render();
    saveView();
  });
});
for (const button of document.querySelectorAll("#devices th button")) {
  button.addEventListener("click", () => {
    const key = button.dataset.sort;
    state.ascending = state.sortKey === key ? !state.ascending : true;
    state.sortKey = key;
    render();
    saveView();
  });
}
$("prev").addEventListener("click", () => {
  state.page -= 1;
  render();
});
$("next").addEventListener("click", () => {
  state.page += 1;
  render();
});

$("export-csv").addEventListener("click", exportCsv);

initHeader();
loadView();
poll(refresh, REFRESH_MS);
poll(refreshQueries, QUERY_REFRESH_MS);
