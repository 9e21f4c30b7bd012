// The Device Dashboard: the fleet table with search, filters, sorting and pagination, done in the
// browser over the whole fleet list, which it fetches again every few seconds (live updates).
import { allDevices, ApiError } from "./api.js";
import { ago, dateTime, el, initHeader, platformAndOs, poll, sdk, setStatus, shortKey, transports } from "./ui.js";

/** How often the table refreshes. */
const REFRESH_MS = 3000;

const state = { devices: [], sortKey: "name", ascending: true, page: 0, loaded: false };
const $ = (id) => document.getElementById(id);
const search = $("search");
const onlineFilter = $("filter-online");
const platformFilter = $("filter-platform");
const sdkFilter = $("filter-sdk");
const pageSize = $("page-size");
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
  if (platformFilter.value && d.ditto_sdk_platform !== platformFilter.value) return false;
  if (sdkFilter.value && d.ditto_sdk_version !== sdkFilter.value) return false;
  return true;
}

// Keeps a filter's options equal to the values the fleet has, keeping the user's choice.
function fillOptions(select, values) {
  const chosen = select.value;
  const wanted = ["", ...[...new Set(values.filter(Boolean))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))];
  if (chosen && !wanted.includes(chosen)) wanted.push(chosen);
  const have = [...select.options].map((o) => o.value);
  if (have.join("\n") === wanted.join("\n")) return;
  select.replaceChildren(...wanted.map((v) => el("option", { value: v }, v || "All")));
  select.value = chosen;
}

function row(d) {
  const href = `/device.html?key=${encodeURIComponent(d.peer_key)}`;
  return el(
    "tr",
    { "data-peer-key": d.peer_key },
    el("td", {}, el("a", { href }, d.device_name ?? "(unnamed)")),
    el("td", {}, el("code", { title: d.peer_key }, shortKey(d.peer_key))),
    el("td", {}, platformAndOs(d)),
    el("td", {}, sdk(d)),
    el("td", {}, el("span", { class: d.online ? "badge online" : "badge offline" }, d.online ? "Online" : "Offline")),
    el("td", {}, el("time", { datetime: d.last_seen ?? "", title: dateTime(d.last_seen) }, d.online ? "now" : ago(d.last_seen))),
    el("td", {}, transports(d)),
    el("td", {}, d.sync_scope ?? "—"),
  );
}

function render() {
  fillOptions(platformFilter, state.devices.map((d) => d.ditto_sdk_platform));
  fillOptions(sdkFilter, state.devices.map((d) => d.ditto_sdk_version));
  const shown = state.devices.filter(matches).sort(compare);
  const size = Number(pageSize.value);
  const pages = Math.max(1, Math.ceil(shown.length / size));
  state.page = Math.min(state.page, pages - 1);
  const slice = shown.slice(state.page * size, (state.page + 1) * size);
  tbody.replaceChildren(
    ...(slice.length ? slice.map(row) : [el("tr", {}, el("td", { colspan: 8, class: "empty" }, state.loaded ? "No device matches." : "Loading…"))]),
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
    setStatus(
      status,
      `${state.devices.length} devices, ${online} online; ${matching} shown. Updated ${new Date().toLocaleTimeString()}, refreshing every ${REFRESH_MS / 1000} s.`,
    );
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    setStatus(status, `Could not load devices: ${e.message}`, true);
  }
}

for (const control of [search, onlineFilter, platformFilter, sdkFilter, pageSize]) {
  control.addEventListener(control === search ? "input" : "change", () => {
    state.page = 0;
    render();
  });
}
$("filters").addEventListener("submit", (e) => e.preventDefault());
for (const button of document.querySelectorAll("#devices th button")) {
  button.addEventListener("click", () => {
    const key = button.dataset.sort;
    state.ascending = state.sortKey === key ? !state.ascending : true;
    state.sortKey = key;
    render();
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

initHeader();
poll(refresh, REFRESH_MS);
