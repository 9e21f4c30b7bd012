// Fleet charts with Chart.js (Debian's libjs-chart.js, loaded by charts.html as window.Chart):
// devices by platform, devices by SDK version, and online devices over time from the Big Peer's
// fleet history. Each chart has its numbers in a table too, for screen readers and keyboards.
import { allDevices, api, ApiError } from "./api.js";
import { COLORS, dataTable as table, showChart as show } from "./chart_view.js";
import { initHeader, poll, sdk, setStatus } from "./ui.js";

const REFRESH_MS = 10000;
const $ = (id) => document.getElementById(id);

function counts(devices, label) {
  const map = new Map();
  for (const d of devices) map.set(label(d), (map.get(label(d)) ?? 0) + 1);
  return [...map.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

async function refresh() {
  try {
    const [devices, history] = await Promise.all([allDevices(), api("/api/v1/fleet/history")]);
    const platforms = counts(devices, (d) => d.ditto_sdk_platform ?? "unknown");
    show("by-platform", "doughnut", platforms.map(([k]) => k), [
      { label: "Devices", data: platforms.map(([, n]) => n), backgroundColor: COLORS },
    ]);
    table("platform-data", ["Platform", "Devices"], platforms);
    const versions = counts(devices, (d) => sdk(d));
    show("by-sdk", "bar", versions.map(([k]) => k), [
      { label: "Devices", data: versions.map(([, n]) => n), backgroundColor: COLORS[0] },
    ], { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } });
    table("sdk-data", ["SDK", "Devices"], versions);
    const samples = history.samples;
    // Points show while there are few samples, so a young history is not an empty chart.
    const pointRadius = samples.length < 30 ? 3 : 0;
    const labels = samples.map((s) => new Date(s.t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
    show("online", "line", labels, [
      { label: "Online", data: samples.map((s) => s.online), borderColor: COLORS[1], backgroundColor: COLORS[1], pointRadius, stepped: true },
      { label: "Total", data: samples.map((s) => s.total), borderColor: COLORS[8], backgroundColor: COLORS[8], pointRadius, stepped: true },
    ], { scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, x: { ticks: { maxTicksLimit: 12 } } } });
    table("online-data", ["Time", "Online", "Total"], samples.slice(-20).reverse().map((s) => [new Date(s.t).toLocaleString(), s.online, s.total]));
    setStatus($("status"), `${devices.length} devices, ${samples.length} history samples. Updated ${new Date().toLocaleTimeString()}, refreshing every ${REFRESH_MS / 1000} s.`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    setStatus($("status"), `Could not load the charts: ${e.message}`, true);
  }
}

initHeader();
if (!window.Chart) {
  setStatus($("status"), "Chart.js did not load (/assets/vendor/chart.min.js).", true);
} else {
  poll(refresh, REFRESH_MS);
}
