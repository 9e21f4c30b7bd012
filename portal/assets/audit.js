// The audit log page: operator actions (logins, log requests, downloads, device revocations and
// approvals), newest first, with who, from where and when; "Older entries" pages back.
import { api, ApiError } from "./api.js";
import { dateTime, el, initHeader, setStatus } from "./ui.js";

const $ = (id) => document.getElementById(id);
let after = null;

function row(e) {
  return el(
    "tr",
    { "data-action": e.action },
    el("td", {}, el("time", { datetime: e.at }, dateTime(e.at))),
    el("td", {}, e.actor),
    el("td", {}, e.action),
    el("td", {}, e.target ? el("code", {}, e.target) : "—"),
    el("td", {}, e.address),
    el("td", {}, e.detail || ""),
  );
}

async function load(reset) {
  const query = new URLSearchParams({ limit: "100" });
  if (!reset && after) query.set("after", after);
  try {
    const page = await api(`/api/v1/audit?${query}`);
    const r = page.retention;
    $("retention").textContent = `The newest ${r.max_entries} entries of the last ${r.max_age_days} days are kept.`;
    const body = $("audit").querySelector("tbody");
    const rows = page.entries.map(row);
    if (reset) body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 6, class: "empty" }, "No entries."))]));
    else body.append(...rows);
    after = page.next_after;
    $("more").hidden = !after;
    setStatus($("status"), `Updated ${new Date().toLocaleTimeString()}.`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    setStatus($("status"), `Could not load the audit log: ${err.message}`, true);
  }
}

$("more").addEventListener("click", () => load(false));
initHeader();
load(true);
