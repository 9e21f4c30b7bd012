// The Data Browser: a DQL query box (POST /api/v1/query, the result as a table or as JSON), and
// collections, their documents a page at a time, and one document as JSON. The query and the
// choice are kept in the URL (?q=&args=&view=&collection=&document=), so a reload or a shared link
// shows the same.
import { api, ApiError } from "./api.js";
import { dateTime, el, initHeader, setStatus } from "./ui.js";

const PAGE_SIZE = 25;
const $ = (id) => document.getElementById(id);
// The `after` cursor of each page shown so far: pages[i] starts after pages[i]'s cursor.
const view = { collection: null, pages: [""], page: 0, next: null, document: null };

// The query last run, with its arguments and how its result is shown.
const asked = { q: "", args: "", view: "table" };

function setUrl(document) {
  const query = new URLSearchParams();
  if (asked.q) query.set("q", asked.q);
  if (asked.args) query.set("args", asked.args);
  if (asked.view !== "table") query.set("view", asked.view);
  if (view.collection) query.set("collection", view.collection);
  if (document) query.set("document", document);
  view.document = document;
  history.replaceState(null, "", `${location.pathname}?${query}`);
}

/** A cell's text: strings as they are, anything else as JSON; a missing field is empty. */
function cellText(value) {
  if (value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** The result as a table: one column per field, in the order the items first name them. */
function resultTable(items) {
  const columns = [];
  for (const item of items) for (const key of Object.keys(item)) if (!columns.includes(key)) columns.push(key);
  return el(
    "table",
    { class: "small" },
    el("thead", {}, el("tr", {}, ...columns.map((c) => el("th", { scope: "col" }, c)))),
    el("tbody", {}, ...items.map((item) => el("tr", {}, ...columns.map((c) => el("td", {}, cellText(item[c])))))),
  );
}

function showResultAs(which) {
  asked.view = which;
  $("query-table").hidden = which !== "table" || !$("query-table").hasChildNodes();
  $("query-json").hidden = which !== "json" || !$("query-json").textContent;
}

async function runQuery() {
  const text = $("query").value.trim();
  const argsText = $("query-args").value.trim();
  $("query-error").textContent = "";
  $("query-table").replaceChildren();
  $("query-json").textContent = "";
  showResultAs(asked.view);
  if (!text) {
    $("query-error").textContent = "Write a query first, e.g. SELECT * FROM __small_peer_info LIMIT 10.";
    return;
  }
  let args = {};
  if (argsText) {
    try {
      args = JSON.parse(argsText);
    } catch (e) {
      $("query-error").textContent = `The arguments are not JSON: ${e.message}`;
      return;
    }
  }
  asked.q = text;
  asked.args = argsText;
  setUrl(view.document);
  setStatus($("query-status"), "Running…");
  try {
    const result = await api("/api/v1/query", { method: "POST", json: { query: text, args } });
    const count = result.items.length;
    setStatus(
      $("query-status"),
      `${count} ${count === 1 ? "item" : "items"}${result.truncated ? `, cut at the Big Peer's row cap: add LIMIT, or narrow the query` : ""}.`,
    );
    $("query-table").replaceChildren(count ? resultTable(result.items) : el("p", { class: "empty" }, "No items."));
    $("query-json").textContent = JSON.stringify(result.items, null, 2);
    showResultAs(asked.view);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    setStatus($("query-status"), "");
    $("query-error").textContent = e.message;
  }
}

function choice(label, selected, onclick, detail) {
  return el(
    "li",
    {},
    el("button", { type: "button", class: "choice", "aria-pressed": selected ? "true" : "false", onclick }, label, detail ? el("span", { class: "hint" }, ` ${detail}`) : null),
  );
}

function markPressed(list, button) {
  for (const b of list.querySelectorAll("button")) b.setAttribute("aria-pressed", b === button ? "true" : "false");
}

async function loadCollections() {
  const { collections } = await api("/api/v1/collections");
  $("collections").replaceChildren(
    ...(collections.length
      ? collections.map((c) =>
          choice(
            c.name,
            c.name === view.collection,
            (event) => {
              markPressed($("collections"), event.currentTarget);
              openCollection(c.name).catch(showError);
            },
            c.system ? "(system)" : `(${c.document_count})`,
          ),
        )
      : [el("li", { class: "empty" }, "No collections yet.")]),
  );
  setStatus($("status"), `${collections.length} collections.`);
}

async function loadPage() {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (view.pages[view.page]) query.set("after", view.pages[view.page]);
  const page = await api(`/api/v1/collections/${encodeURIComponent(view.collection)}/documents?${query}`);
  view.next = page.next_after;
  $("documents").replaceChildren(
    ...(page.documents.length
      ? page.documents.map((d) =>
          choice(String(d._id), false, (event) => {
            markPressed($("documents"), event.currentTarget);
            openDocument(String(d._id)).catch(showError);
          }),
        )
      : [el("li", { class: "empty" }, "No documents.")]),
  );
  $("documents-heading").textContent = `Documents in ${view.collection}`;
  $("doc-page").textContent = `Page ${view.page + 1}`;
  $("doc-prev").disabled = view.page === 0;
  $("doc-next").disabled = !view.next;
}

async function openCollection(name) {
  view.collection = name;
  view.pages = [""];
  view.page = 0;
  setUrl(null);
  await loadPage();
}

async function openDocument(id) {
  const doc = await api(`/api/v1/collections/${encodeURIComponent(view.collection)}/documents/${encodeURIComponent(id)}`);
  $("document-heading").textContent = `Document ${doc.id}`;
  $("document-version").textContent = `Version ${doc.version.hlc}, written ${dateTime(doc.version.time)} by ${doc.version.origin}`;
  $("document").textContent = JSON.stringify(doc.document, null, 2);
  setUrl(id);
}

function showError(e) {
  if (e instanceof ApiError && e.status === 401) return;
  setStatus($("status"), `Error: ${e.message}`, true);
}

$("doc-prev").addEventListener("click", () => {
  view.page -= 1;
  loadPage().catch(showError);
});
$("doc-next").addEventListener("click", () => {
  view.pages[view.page + 1] = view.next;
  view.page += 1;
  loadPage().catch(showError);
});

$("query-form").addEventListener("submit", (event) => {
  event.preventDefault();
  runQuery();
});
for (const radio of document.querySelectorAll('input[name="query-view"]')) {
  radio.addEventListener("change", () => {
    showResultAs(radio.value);
    setUrl(view.document);
  });
}

initHeader();
$("doc-prev").disabled = true;
$("doc-next").disabled = true;
(async () => {
  const query = new URLSearchParams(location.search);
  view.collection = query.get("collection");
  asked.view = query.get("view") === "json" ? "json" : "table";
  document.querySelector(`input[name="query-view"][value="${asked.view}"]`).checked = true;
  if (query.get("q")) {
    $("query").value = query.get("q");
    $("query-args").value = query.get("args") ?? "";
    await runQuery();
  }
  await loadCollections();
  if (view.collection) {
    await openCollection(view.collection);
    if (query.get("document")) await openDocument(query.get("document"));
  }
})().catch(showError);
