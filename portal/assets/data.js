// The Data Browser: collections, their documents a page at a time, and one document as JSON. The
// choice is kept in the URL (?collection=&document=), so it survives a reload and can be shared.
import { api, ApiError } from "./api.js";
import { dateTime, el, initHeader, setStatus } from "./ui.js";

const PAGE_SIZE = 25;
const $ = (id) => document.getElementById(id);
// The `after` cursor of each page shown so far: pages[i] starts after pages[i]'s cursor.
const view = { collection: null, pages: [""], page: 0, next: null };

function setUrl(document) {
  const query = new URLSearchParams();
  if (view.collection) query.set("collection", view.collection);
  if (document) query.set("document", document);
  history.replaceState(null, "", `${location.pathname}?${query}`);
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

initHeader();
$("doc-prev").disabled = true;
$("doc-next").disabled = true;
(async () => {
  const query = new URLSearchParams(location.search);
  view.collection = query.get("collection");
  await loadCollections();
  if (view.collection) {
    await openCollection(view.collection);
    if (query.get("document")) await openDocument(query.get("document"));
  }
})().catch(showError);
