// The Activity page (api/routers/activity.py): search, live feed and sign-in, no build step.
// Event data is only ever written with textContent / attributes, never parsed as HTML.
"use strict";

(function () {
  const body = document.body;
  const PAGE_SIZE = 50;
  const MAX_ROWS = 1000; // keep a long-open page from growing without bound

  function cookie(name) {
    for (const part of document.cookie.split(";")) {
      const [key, ...rest] = part.trim().split("=");
      if (key === name) return decodeURIComponent(rest.join("="));
    }
    return "";
  }

  // Writes made with the session cookie echo the CSRF cookie in a header (api/cookies.py).
  function csrfHeaders() {
    const name = body.dataset.csrfCookie || "tideway_csrf";
    const header = body.dataset.csrfHeader || "x-csrf-token";
    const value = cookie(name);
    return value ? { [header]: value } : {};
  }

  // The page's one way to call the JSON API: the session cookie, and on writes the CSRF header.
  // Never throws: a network failure or a non-JSON answer (e.g. a proxy's 404 page) comes back as
  // { ok: false, status, message } so a view can show a short message instead of breaking.
  async function request(path, { method = "GET", body } = {}) {
    const headers = { accept: "application/json" };
    if (method !== "GET") Object.assign(headers, { "content-type": "application/json" }, csrfHeaders());
    let response;
    try {
      response = await fetch(path, {
        method, credentials: "same-origin", headers, body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      return { ok: false, status: 0, headers: new Headers(), data: {}, message: `Network error: ${error.message}` };
    }
    if (response.status === 401) window.location.reload(); // the session expired: the sign-in page
    const data = await response.json().catch(() => ({}));
    const message = (data && typeof data.message === "string" && data.message)
      || (response.ok ? "" : `${response.status} ${response.statusText}`.trim());
    return { ok: response.ok, status: response.status, headers: response.headers, data: data || {}, message };
  }

  function setupLogout() {
    const button = document.getElementById("logout");
    if (!button) return;
    button.addEventListener("click", async () => {
      await fetch("/v2/logout", { method: "POST", credentials: "same-origin", headers: csrfHeaders() });
      window.location.replace(window.location.pathname);
    });
  }

  function setupLogin() {
    const form = document.getElementById("login-form");
    if (!form) return;
    const error = document.getElementById("login-error");
    form.addEventListener("submit", async (submitted) => {
      submitted.preventDefault();
      error.textContent = "";
      const data = new FormData(form);
      const response = await fetch("/v2/login", {
        method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: data.get("email"), password: data.get("password") }),
      });
      if (response.ok) {
        window.location.reload();
      } else {
        const answer = await response.json().catch(() => ({}));
        error.textContent = answer.message || `Sign-in failed (${response.status})`;
      }
    });
  }

  // ---- the feed -------------------------------------------------------------------------

  const workspace = body.dataset.workspace;
  const list = document.getElementById("events");
  const form = document.getElementById("filters");
  const status = document.getElementById("live-status");
  const message = document.getElementById("message");
  const older = document.getElementById("older");
  const FILTERS = ["types", "text", "afterDate", "beforeDate", "correlationId"];
  const DATES = new Set(["afterDate", "beforeDate"]);

  let generation = 0; // bumped on every filter change: late answers of older ones are dropped
  let source = null;
  let page = 0;
  let seen = new Set();

  // datetime-local values are local wall-clock times; the API wants ISO 8601.
  function isoDate(value) {
    const moment = new Date(value);
    return Number.isNaN(moment.getTime()) ? value : moment.toISOString();
  }

  function localInput(iso) {
    const moment = new Date(iso);
    if (Number.isNaN(moment.getTime())) return "";
    const shifted = new Date(moment.getTime() - moment.getTimezoneOffset() * 60000);
    return shifted.toISOString().slice(0, 19);
  }

  // The form's filters as query parameters of GET …/events (core/eventsearch.py).
  function searchParams() {
    const params = new URLSearchParams();
    for (const name of FILTERS) {
      const value = (form.elements[name].value || "").trim();
      if (!value) continue;
      if (name === "correlationId") params.set("source.correlationId", value);
      else if (DATES.has(name)) params.set(name, isoDate(value));
      else params.set(name, value);
    }
    return params;
  }

  // Filters live in the page URL too, so a reload or a shared link shows the same view.
  function filtersFromUrl() {
    const url = new URLSearchParams(window.location.search);
    for (const name of FILTERS) {
      const value = url.get(name);
      if (value) form.elements[name].value = DATES.has(name) ? localInput(value) : value;
    }
  }

  function filtersToUrl(params) {
    const shown = new URLSearchParams();
    for (const [key, value] of params) shown.set(key === "source.correlationId" ? "correlationId" : key, value);
    const query = shown.toString();
    // The fragment is the tab or the open run (activity-runs.js): keep it.
    window.history.replaceState(null, "", window.location.pathname + (query ? `?${query}` : "") + window.location.hash);
  }

  function temporalLink(event) {
    const src = event.source || {};
    if (event.type !== "runtime.automations.executed" || !src.workflowId) return null;
    const base = (body.dataset.temporalUi || "").replace(/\/+$/, "");
    const ns = encodeURIComponent(body.dataset.namespace || "default");
    let href = `${base}/namespaces/${ns}/workflows/${encodeURIComponent(src.workflowId)}`;
    if (src.runId) href += `/${encodeURIComponent(src.runId)}/history`;
    const link = document.createElement("a");
    link.className = "temporal";
    link.href = href;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    link.textContent = "Temporal run ↗";
    return link;
  }

  function span(className, text) {
    const element = document.createElement("span");
    element.className = className;
    element.textContent = text;
    return element;
  }

  // Opens the run view of the event's run; activity-runs.js finds the run (by workflow id) on click.
  function runButton(workflowId) {
    const actions = document.createElement("div");
    actions.className = "event-actions";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "run-link";
    button.dataset.workflowId = workflowId;
    button.textContent = "Run";
    button.title = "Open this event's run: its trace, input, output";
    actions.append(button, span("run-link-message", ""));
    return actions;
  }

  function row(event, live) {
    const item = document.createElement("li");
    item.className = live ? "event fresh" : "event";
    item.dataset.id = event.id;
    item.dataset.type = event.type;
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    const time = document.createElement("time");
    time.dateTime = event.createdAt || "";
    time.textContent = event.createdAt ? new Date(event.createdAt).toLocaleString() : "";
    time.title = event.createdAt || "";
    summary.append(time, span("type", event.type));
    const src = event.source || {};
    const meta = [src.automationSlug, src.appInstanceFullSlug, src.correlationId && `corr ${src.correlationId}`]
      .filter(Boolean).join(" · ");
    if (meta) summary.append(span("meta", meta));
    const link = temporalLink(event);
    if (link) summary.append(link);
    const json = document.createElement("pre");
    json.textContent = JSON.stringify(event, null, 2);
    details.append(summary);
    if (src.workflowId) details.append(runButton(src.workflowId));
    details.append(json);
    item.append(details);
    return item;
  }

  function add(events, { live = false, top = false } = {}) {
    const fragment = document.createDocumentFragment();
    for (const event of events) {
      if (!event || seen.has(event.id)) continue;
      seen.add(event.id);
      fragment.append(row(event, live));
    }
    if (top) list.prepend(fragment);
    else list.append(fragment);
    while (list.children.length > MAX_ROWS) {
      seen.delete(list.lastElementChild.dataset.id);
      list.lastElementChild.remove();
    }
    list.classList.toggle("empty", list.children.length === 0);
  }

  function setStatus(text, state) {
    status.textContent = text;
    status.dataset.state = state;
  }

  async function search(current, params, pageNumber) {
    const query = new URLSearchParams(params);
    query.set("limit", String(PAGE_SIZE));
    query.set("page", String(pageNumber));
    const response = await fetch(`/v2/workspaces/${encodeURIComponent(workspace)}/events?${query}`,
      { credentials: "same-origin", headers: { accept: "application/json" } });
    if (current !== generation) return;
    if (response.status === 401) { window.location.reload(); return; }
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      message.textContent = answer.message || `Search failed (${response.status})`;
      return;
    }
    const events = (answer.result && answer.result.events) || [];
    add(events);
    older.hidden = events.length < PAGE_SIZE;
  }

  // The stream starts "now" when it opens, so the search runs once it is open: an event
  // written in between is in one or both, and `seen` drops the duplicate.
  function start() {
    generation += 1;
    const current = generation;
    if (source) source.close();
    list.replaceChildren();
    seen = new Set();
    page = 0;
    older.hidden = true;
    message.textContent = "";
    const params = searchParams();
    filtersToUrl(params);
    setStatus("connecting…", "connecting");
    let searched = false;
    source = new EventSource(`/v2/workspaces/${encodeURIComponent(workspace)}/events/stream?${params}`);
    source.onopen = () => {
      if (current !== generation) return;
      setStatus("live", "live");
      if (!searched) { searched = true; search(current, params, 0); }
    };
    source.onmessage = (received) => {
      if (current !== generation) return;
      try { add([JSON.parse(received.data)], { live: true, top: true }); } catch (_) { /* not JSON */ }
    };
    source.onerror = () => {
      if (current !== generation) return;
      // EventSource retries by itself (with Last-Event-ID) unless the server refused it.
      if (source.readyState === EventSource.CLOSED) {
        setStatus("disconnected", "closed");
        message.textContent = "The live feed stopped (session expired or invalid filters): reload the page.";
        if (!searched) { searched = true; search(current, params, 0); }
      } else {
        setStatus("reconnecting…", "connecting");
      }
    };
  }

  function setupFeed() {
    if (!workspace || !list || !form) return;
    filtersFromUrl();
    form.addEventListener("submit", (submitted) => { submitted.preventDefault(); start(); });
    form.addEventListener("reset", () => { window.setTimeout(start, 0); });
    older.addEventListener("click", () => { page += 1; search(generation, searchParams(), page); });
    start();
  }

  // Shared with activity-run.js and activity-runs.js (loaded after this file).
  window.TidewayActivity = Object.freeze({ request, span, isoDate, localInput, workspace });

  setupLogout();
  setupLogin();
  setupFeed();
})();
