// The Activity page's tabs and its Runs tab. The URL fragment says what is shown, so a view can be
// shared and the browser's back button works: #events (the feed, activity.js), #runs?<filters>
// (GET …/runs) and #run=<runId> (the run view, activity-run.js). An event's "Run" button finds
// the event's run by its workflow id and opens it.
"use strict";

(function () {
  const shared = window.TidewayActivity;
  const runView = window.TidewayRunView;
  const views = {
    events: document.getElementById("events-view"),
    runs: document.getElementById("runs-view"),
    run: document.getElementById("run-view"),
  };
  const form = document.getElementById("run-filters");
  const table = document.getElementById("runs");
  if (!shared || !shared.workspace || !runView || !views.events || !views.runs || !views.run || !form || !table) return;
  const { request, isoDate, localInput, span } = shared;
  const { element, formatDuration, timeElement, statusBadge, runLink } = runView;
  const runsPath = `/v2/workspaces/${encodeURIComponent(shared.workspace)}/runs`;
  const rows = table.tBodies[0];
  const message = document.getElementById("runs-message");
  const older = document.getElementById("older-runs");
  const tabs = { events: document.getElementById("tab-events"), runs: document.getElementById("tab-runs") };
  const PAGE_SIZE = 50;
  const FILTERS = ["automation", "status", "triggerType", "correlationId", "userId", "afterDate", "beforeDate"];
  const DATES = new Set(["afterDate", "beforeDate"]);

  let generation = 0; // bumped on every new search: late answers of older ones are dropped
  let page = 0;

  function unavailable(answer, what) {
    if (answer.status === 404 && !answer.data.error) return `${what}: the runs API is not available on this server (404).`;
    return `${what}: ${answer.message || `answer ${answer.status}`}`;
  }

  // ---- the Runs tab ---------------------------------------------------------------------

  function formParams() {
    const params = new URLSearchParams();
    for (const name of FILTERS) {
      const value = (form.elements[name].value || "").trim();
      if (value) params.set(name, DATES.has(name) ? isoDate(value) : value);
    }
    return params;
  }

  function paramsToForm(params) {
    for (const name of FILTERS) {
      const value = params.get(name) || "";
      form.elements[name].value = DATES.has(name) && value ? localInput(value) : value;
    }
  }

  // A long id in one line, cut by CSS; the whole id in its tooltip.
  function clipped(value) {
    const node = value instanceof Node ? value : span("mono", value);
    node.classList.add("clip");
    node.title = node.textContent;
    return node;
  }

  function runRow(run) {
    const item = element("tr", "run");
    item.dataset.id = run.id;
    item.dataset.status = run.status || "";
    const trigger = run.trigger || {};
    const cells = [
      timeElement(run.startedAt),
      run.appInstance ? `${run.automation} (${run.appInstance})` : run.automation,
      [trigger.type, trigger.value].filter(Boolean).join(": "),
      statusBadge(run.status),
      formatDuration(run.duration),
      clipped(run.userId || "—"),
      clipped(run.correlationId || ""),
      clipped(runLink(run.id)),
    ];
    for (const value of cells) {
      const cell = element("td");
      if (value instanceof Node) cell.append(value); else cell.textContent = value || "";
      item.append(cell);
    }
    if (run.error) item.title = `${run.error.error}: ${run.error.message}`;
    return item;
  }

  // A full-width row for "Loading…" / "No runs." (table rows cannot show a ::before message).
  function placeholder(text) {
    const item = element("tr", "placeholder");
    const cell = element("td", "muted", text);
    cell.colSpan = table.tHead.rows[0].cells.length;
    item.append(cell);
    return item;
  }

  async function searchRuns(current, params, pageNumber) {
    const query = new URLSearchParams(params);
    query.set("limit", String(PAGE_SIZE));
    query.set("page", String(pageNumber));
    const answer = await request(`${runsPath}?${query}`);
    if (current !== generation) return;
    const runs = answer.ok && answer.data.result && answer.data.result.runs;
    for (const item of rows.querySelectorAll("tr.placeholder")) item.remove();
    if (!Array.isArray(runs)) {
      message.textContent = unavailable(answer, "Runs could not be listed");
      return;
    }
    rows.append(...runs.map(runRow));
    if (rows.children.length === 0) rows.append(placeholder("No runs."));
    older.hidden = runs.length < PAGE_SIZE;
  }

  function listRuns(params) {
    generation += 1;
    page = 0;
    rows.replaceChildren(placeholder("Loading…"));
    message.textContent = "";
    older.hidden = true;
    return searchRuns(generation, params, 0);
  }

  // Applying filters writes them to the fragment; the hashchange then lists (or, when the
  // fragment did not change, this lists directly: a second Apply refreshes).
  function showRunsHash(params) {
    const query = params.toString();
    const hash = `#runs${query ? `?${query}` : ""}`;
    if (window.location.hash === hash) listRuns(params);
    else window.location.hash = hash;
  }

  // ---- routing --------------------------------------------------------------------------

  function showView(name) {
    for (const [key, view] of Object.entries(views)) view.hidden = key !== name;
    const tab = name === "run" ? "runs" : name;
    for (const [key, link] of Object.entries(tabs)) {
      if (!link) continue;
      link.classList.toggle("active", key === tab);
      if (key === name) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
    }
  }

  function route() {
    const hash = window.location.hash.replace(/^#/, "");
    if (hash.startsWith("run=")) {
      let runId = hash.slice(4);
      try { runId = decodeURIComponent(runId); } catch (_) { /* keep it as written */ }
      showView("run");
      runView.show(views.run, runId);
    } else if (hash === "runs" || hash.startsWith("runs?")) {
      const params = new URLSearchParams(hash.slice(5));
      paramsToForm(params);
      showView("runs");
      listRuns(formParams());
    } else {
      showView("events");
    }
  }

  // ---- an event's Run button ------------------------------------------------------------

  async function openEventRun(button) {
    const note = button.parentElement.querySelector(".run-link-message");
    note.textContent = "Finding the run…";
    button.disabled = true;
    const query = new URLSearchParams({ workflowId: button.dataset.workflowId, limit: "1" });
    const answer = await request(`${runsPath}?${query}`);
    button.disabled = false;
    const runs = answer.ok && answer.data.result && answer.data.result.runs;
    if (!Array.isArray(runs)) { note.textContent = unavailable(answer, "The run could not be found"); return; }
    if (runs.length === 0) { note.textContent = "No run is recorded for this event's workflow."; return; }
    note.textContent = "";
    window.location.hash = `run=${encodeURIComponent(runs[0].id)}`;
  }

  function setup() {
    form.addEventListener("submit", (submitted) => { submitted.preventDefault(); showRunsHash(formParams()); });
    form.addEventListener("reset", () => { window.setTimeout(() => showRunsHash(formParams()), 0); });
    older.addEventListener("click", () => { page += 1; searchRuns(generation, formParams(), page); });
    rows.addEventListener("click", (clicked) => {
      const item = clicked.target.closest("tr.run");
      if (!item || clicked.target.closest("a")) return; // the id link navigates by itself
      window.location.hash = `run=${encodeURIComponent(item.dataset.id)}`;
    });
    document.addEventListener("click", (clicked) => {
      const button = clicked.target.closest && clicked.target.closest(".run-link");
      if (button) openEventRun(button);
    });
    window.addEventListener("hashchange", route);
    route();
  }

  setup();
})();
