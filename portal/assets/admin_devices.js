// The admin devices page (docs/SYNC.md "Admin devices"): grant a device admin rights for a while,
// list every grant with its device's last handshake, revoke one. Each change is audited.
import { api, ApiError } from "./api.js";
import { dateTime, el, initHeader, setStatus, shortKey } from "./ui.js";

const $ = (id) => document.getElementById(id);
const LABELS = { active: "Active", revoked: "Revoked", expired: "Expired" };

function revokeButton(g) {
  const name = g.device_name ?? g.peer_key;
  const button = el("button", { type: "button", class: "danger", "data-action": "revoke" }, "Revoke");
  button.setAttribute("aria-label", `Revoke ${name}`);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api(`/api/v1/admin-devices/${encodeURIComponent(g.grant_id)}`, { method: "DELETE" });
      setStatus($("status"), `${name} is no longer an admin device.`);
      await load();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      setStatus($("status"), `The revocation was refused: ${err.message}`, true);
      button.disabled = false;
    }
  });
  return button;
}

function row(g) {
  return el(
    "tr",
    { "data-key": g.peer_key, "data-grant": g.grant_id, "data-state": g.state },
    el("td", {}, g.device_name ?? "(never connected)"),
    el("td", {}, el("code", { title: g.peer_key }, shortKey(g.peer_key))),
    el("td", {}, g.label || "—"),
    el("td", {}, el("span", { class: `badge grant-${g.state}` }, LABELS[g.state] ?? g.state)),
    el("td", {}, dateTime(g.expires_at)),
    el("td", {}, g.online ? el("span", { class: "badge online" }, "Online") : g.last_seen ? dateTime(g.last_seen) : "—"),
    el("td", {}, `${dateTime(g.created_at)} by ${g.created_by}`),
    el("td", {}, g.state === "active" ? revokeButton(g) : g.revoked_at ? `Revoked ${dateTime(g.revoked_at)}` : "—"),
  );
}

async function load() {
  try {
    const page = await api("/api/v1/admin-devices");
    $("signing-key").textContent = page.signing_key;
    const rows = page.admin_devices.map(row);
    const body = $("admin-devices").querySelector("tbody");
    body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 8, class: "empty" }, "No admin devices."))]));
    if ($("status").textContent === "Loading…") setStatus($("status"), "");
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    setStatus($("status"), `Could not load the admin devices: ${err.message}`, true);
  }
}

// The datalist offers the devices the Big Peer knows, by name.
async function loadDevices() {
  try {
    const page = await api("/api/v1/devices?limit=1000");
    $("known-devices").replaceChildren(
      ...page.devices.map((d) => el("option", { value: d.peer_key }, d.device_name ?? d.peer_key)),
    );
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
  }
}

$("grant-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = $("grant-key").value.trim();
  if (!key) {
    setStatus($("status"), "Enter the peer key of the device to grant.", true);
    $("grant-key").focus();
    return;
  }
  const days = Number($("grant-days").value);
  const expires = new Date(Date.now() + days * 86_400_000).toISOString();
  $("grant").disabled = true;
  try {
    const g = await api("/api/v1/admin-devices", {
      method: "POST",
      json: { peer_key: key, expires_at: expires, label: $("grant-label").value },
    });
    setStatus($("status"), `${g.device_name ?? g.peer_key} is an admin device until ${dateTime(g.expires_at)}.`);
    $("grant-form").reset();
    await load();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    setStatus($("status"), `The grant was refused: ${err.message}`, true);
  } finally {
    $("grant").disabled = false;
  }
});

initHeader();
load();
loadDevices();
