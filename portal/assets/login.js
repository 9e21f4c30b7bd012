// The login page: exchanges the admin token for the session cookie, then goes where it was sent from.
import { api, ApiError } from "./api.js";

const form = document.getElementById("login-form");
const input = document.getElementById("token");
const error = document.getElementById("login-error");

// Only a path on this origin may be the destination ("//host" would leave it).
function destination() {
  const next = new URLSearchParams(location.search).get("next");
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  const token = input.value.trim();
  if (!token) {
    error.textContent = "Enter the admin token.";
    input.focus();
    return;
  }
  try {
    await api("/api/v1/session", { method: "POST", json: { token }, stayOn401: true, noCsrf: true });
    location.assign(destination());
  } catch (e) {
    error.textContent = e instanceof ApiError ? `Login refused: ${e.message}` : `Login failed: ${e.message}`;
    input.select();
    input.focus();
  }
});
