// The enrollment page: every device key the Big Peer registered, its state (approved, waiting for
// approval, revoked), and the operator's Revoke / Allow / Approve buttons. Each change is audited.
import { api, ApiError } from "./api.js";
import { dateTime, el, initHeader, setStatus, shortKey } from "./ui.js";

const $ = (id) => document.getElementById(id);
const LABELS = { approved: "Approved", pending: "Waiting for approval", revoked: "Revoked" };
let after = null;

function actionButton(e) {
  const [verb, label] = e.state === "approved" ? ["revoke", "Revoke"] : ["allow", e.state === "pending" ? "Approve" : "Allow again"];
  const button = el("button", { type: "button", class: verb === "revoke" ? "danger" : "", "data-action": verb }, label);
  button.setAttribute("aria-label", `${label} ${e.device_name ?? e.peer_key}`);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const changed = await api(`/api/v1/enrollments/${encodeURIComponent(e.peer_key)}/${verb}`, { method: "POST", json: {} });
      setStatus($("status"), `${changed.device_name ?? changed.peer_key} is now ${LABELS[changed.state].toLowerCase()}.`);
      await load(true);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      setStatus($("status"), `The change was refused: ${err.message}`, true);
      button.disabled = false;
    }
  });
  return button;
}

function row(e) {
  return el(
    "tr",
    { "data-key": e.peer_key, "data-state": e.state },
    el("td", {}, e.device_name ?? "(unnamed)"),
    el("td", {}, el("code", { title: e.peer_key }, shortKey(e.peer_key))),
    el("td", {}, el("span", { class: `badge enrollment-${e.state}` }, LABELS[e.state] ?? e.state)),
    el("td", {}, dateTime(e.first_seen), e.first_address ? ` from ${e.first_address}` : ""),
    el("td", {}, e.last_seen ? dateTime(e.last_seen) : "—", e.last_address ? ` from ${e.last_address}` : ""),
    el("td", {}, e.changed_at ? `${dateTime(e.changed_at)} by ${e.changed_by}` : "—"),
    el("td", {}, actionButton(e)),
  );
}

async function load(reset) {
  const query = new URLSearchParams({ limit: "100" });
  const state = $("state-filter").value;
  if (state) query.set("state", state);
  if (!reset && after) query.set("after", after);
  try {
    const page = await api(`/api/v1/enrollments?${query}`);
    $("mode").textContent = page.approval_required
      ? "Approval is required: a new device waits until you approve it."
      : "New devices are enrolled at their first session; revoke one to refuse it.";
    const body = $("enrollments").querySelector("tbody");
    const rows = page.enrollments.map(row);
    if (reset) body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 7, class: "empty" }, "No devices."))]));
    else body.append(...rows);
    after = page.next_after;
    $("more").hidden = !after;
    if (reset && !$("status").classList.contains("error") && $("status").textContent === "Loading…") setStatus($("status"), "");
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    setStatus($("status"), `Could not load the enrollments: ${err.message}`, true);
  }
}

$("state-filter").addEventListener("change", () => load(true));
$("more").addEventListener("click", () => load(false));
initHeader();
load(true);
