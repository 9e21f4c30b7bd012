// Chart.js (Debian's libjs-chart.js, loaded by the page as window.Chart) as the portal uses it:
// one chart per canvas, created once and updated in place, with its numbers in a table beside it
// for screen readers and keyboards.
import { el } from "./ui.js";

/** The portal's chart colours, in the order datasets take them. */
export const COLORS = ["#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#4b5563"];

const charts = {};

/** Fills the table with id `id` with a header row and data rows (an array of cell arrays). */
export function dataTable(id, header, rows) {
  document.getElementById(id).replaceChildren(
    el("thead", {}, el("tr", {}, ...header.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((c) => el("td", {}, c))))),
  );
}

/** Draws (the first time) or updates the chart on canvas `id`; null when Chart.js did not load. */
export function showChart(id, type, labels, datasets, options = {}) {
  const Chart = window.Chart;
  if (!Chart) return null;
  if (!charts[id]) {
    charts[id] = new Chart(document.getElementById(id), {
      type,
      data: { labels, datasets },
      options: { animation: false, responsive: true, maintainAspectRatio: false, ...options },
    });
  } else {
    charts[id].data.labels = labels;
    charts[id].data.datasets.forEach((ds, i) => (ds.data = datasets[i].data));
    charts[id].update();
  }
  return charts[id];
}
