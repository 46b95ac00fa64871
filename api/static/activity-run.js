// The run view of the Activity page (#run=<runId>, routed by activity-runs.js): one run's facts,
// its trace as a waterfall, input, output, error, and Re-run / Cancel. Like the feed, run data is
// only ever written with textContent / attributes, never parsed as HTML.
"use strict";

(function () {
  const shared = window.TidewayActivity;
  if (!shared || !shared.workspace) return;
  const { request, span } = shared;
  const runsPath = `/v2/workspaces/${encodeURIComponent(shared.workspace)}/runs`;
  const CANCELLABLE = new Set(["running", "waiting"]);
  // Errors with which POST …/rerun refuses to start anything (no permission, unknown run, bad body).
  const REFUSALS = new Set(["ForbiddenError", "UnauthorizedError", "ObjectNotFoundError", "InvalidArgumentsError",
    "TooManyRequestsError"]);

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function formatDuration(ms) {
    if (ms === null || ms === undefined || Number.isNaN(Number(ms))) return "—";
    const value = Number(ms);
    if (value < 1000) return `${Math.round(value)} ms`;
    if (value < 60000) return `${(value / 1000).toFixed(value < 10000 ? 2 : 1)} s`;
    return `${Math.floor(value / 60000)} min ${Math.round((value % 60000) / 1000)} s`;
  }

  function timeElement(iso) {
    const time = document.createElement("time");
    if (!iso) { time.textContent = "—"; return time; }
    time.dateTime = iso;
    time.title = iso;
    const moment = new Date(iso);
    time.textContent = Number.isNaN(moment.getTime()) ? iso : moment.toLocaleString();
    return time;
  }

  function statusBadge(status) {
    const badge = span("run-status", status || "unknown");
    badge.dataset.status = status || "unknown";
    return badge;
  }

  function runLink(id) {
    const link = element("a", "run-id", id);
    link.href = `#run=${encodeURIComponent(id)}`;
    return link;
  }

  // Only http(s) links: a URL from the data must never become a javascript: link.
  function httpUrl(value) {
    try {
      const url = new URL(String(value), window.location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (_) {
      return null;
    }
  }

  function asJson(value) {
    return JSON.stringify(value, null, 2);
  }

  // ---- the waterfall --------------------------------------------------------------------

  // The step that failed the run: the last error in pre-order (a failing call's own steps follow
  // it), preferring one in the automation the run's error names. Other error steps (a call that
  // passed a callee's error on, an error a try caught) get the lighter "error-path" mark.
  function failingIndex(run, steps) {
    if (run.status !== "failed") return -1;
    const at = (run.error && run.error.at) || {};
    let last = -1;
    let matching = -1;
    steps.forEach((step, index) => {
      if (step.outcome !== "error") return;
      last = index;
      if (at.automation && step.automation === at.automation
          && (!at.instruction || at.instruction === step.instruction || at.instruction === step.path)) matching = index;
    });
    return matching >= 0 ? matching : last;
  }

  function stepName(run, step) {
    const name = element("span", "step-name");
    name.style.setProperty("--depth", String(Math.max(0, (Number(step.depth) || 1) - 1)));
    if (step.automation && (step.automation !== run.automation || Number(step.depth) > 1)) {
      name.append(span("step-automation", step.instance ? `${step.instance}/${step.automation}` : step.automation));
    }
    name.append(span("step-instruction", step.instruction || "?"), span("step-path", step.path || ""));
    if (step.iteration !== undefined && step.iteration !== null) name.append(span("step-iteration", `#${step.iteration}`));
    return name;
  }

  function bar(run, step, index, total, failed) {
    const item = element("li", "trace-bar");
    if (index === failed) item.classList.add("failed");
    else if (step.outcome === "error") item.classList.add("error-path");
    else if (step.outcome === "break") item.classList.add("break");
    item.dataset.path = step.path || "";
    item.dataset.index = String(index);
    item.dataset.depth = String(step.depth || 1);
    item.dataset.outcome = step.outcome || "";
    item.tabIndex = 0;
    item.setAttribute("role", "button");
    item.title = `${step.instruction || ""} ${step.path || ""}: ${formatDuration(step.duration)}`;
    const track = element("span", "trace-track");
    const fill = element("span", "trace-fill");
    // Offsets relative to the run's total; CSS gives the fill a minimum width so 0 ms steps show.
    const left = Math.min(100, Math.max(0, (Number(step.start) || 0) / total * 100));
    const width = Math.min(100 - left, Math.max(0, (Number(step.duration) || 0) / total * 100));
    fill.style.left = `min(${left}%, calc(100% - 4px))`;
    fill.style.width = `${width}%`;
    track.append(fill);
    item.append(stepName(run, step), track, span("step-duration", formatDuration(step.duration)));
    return item;
  }

  function detailRows(list, rows) {
    for (const [label, value] of rows) {
      if (value === undefined || value === null || value === "") continue;
      list.append(element("dt", "", label));
      const cell = element("dd");
      if (value instanceof Node) cell.append(value); else cell.textContent = String(value);
      list.append(cell);
    }
  }

  function showStep(panel, step) {
    panel.replaceChildren(element("h4", "", `${step.instruction || "?"} ${step.path || ""}`));
    const facts = element("dl", "facts");
    detailRows(facts, [
      ["Automation", step.automation], ["Instance", step.instance], ["Path", step.path],
      ["Depth", step.depth], ["Iteration", step.iteration],
      ["Start", `+${formatDuration(step.start)}`], ["Duration", formatDuration(step.duration)],
      ["Outcome", step.outcome],
    ]);
    panel.append(facts);
    if (step.error) {
      panel.append(element("h5", "", "Error"),
        element("pre", "step-error", `${step.error.error || "Error"}: ${step.error.message || ""}`));
    }
    if (!Object.prototype.hasOwnProperty.call(step, "value")) {
      panel.append(element("p", "muted", "No value recorded (the trace level is not \"values\")."));
    } else if (step.value && typeof step.value === "object" && step.value.$truncated) {
      panel.append(element("h5", "", `Value (truncated, ${step.value.bytes} bytes)`),
        element("pre", "step-value", step.value.preview));
    } else {
      panel.append(element("h5", "", "Value"), element("pre", "step-value", asJson(step.value)));
    }
  }

  function waterfall(run) {
    const section = element("section", "trace-section");
    section.append(element("h3", "", "Trace"));
    const trace = run.trace;
    if (!trace) {
      section.append(element("p", "muted", "No trace: it is shown to callers who may read the workspace."));
      return section;
    }
    const steps = Array.isArray(trace.steps) ? trace.steps : [];
    const end = steps.reduce((most, step) => Math.max(most, (Number(step.start) || 0) + (Number(step.duration) || 0)), 0);
    const total = Math.max(Number(run.duration) || 0, end) || 1;
    let note = `${steps.length} steps · level ${trace.level || "?"} · ${formatDuration(total)}`;
    if (trace.dropped) note += ` · ${trace.dropped} more steps were not recorded`;
    section.append(element("p", "muted trace-note", note));
    if (trace.level === "off" || steps.length === 0) {
      section.append(element("p", "muted", trace.level === "off" ? "Tracing was off for this run." : "No steps."));
      return section;
    }
    const layout = element("div", "trace-layout");
    const list = element("ol", "trace");
    list.id = "trace";
    const axis = element("li", "trace-axis");
    axis.setAttribute("aria-hidden", "true");
    axis.append(span("step-name", "step"), span("trace-track", ""), span("step-duration", ""));
    axis.children[1].append(span("axis-start", "0"), span("axis-end", formatDuration(total)));
    list.append(axis);
    const panel = element("aside", "step-details");
    panel.id = "step-details";
    panel.append(element("p", "muted", "Click a step to see its details."));
    const failed = failingIndex(run, steps);
    const select = (item) => {
      for (const other of list.querySelectorAll(".trace-bar.selected")) other.classList.remove("selected");
      item.classList.add("selected");
      showStep(panel, steps[Number(item.dataset.index)]);
    };
    steps.forEach((step, index) => list.append(bar(run, step, index, total, failed)));
    list.addEventListener("click", (clicked) => {
      const item = clicked.target.closest(".trace-bar");
      if (item) select(item);
    });
    list.addEventListener("keydown", (pressed) => {
      const item = pressed.target.closest(".trace-bar");
      if (item && (pressed.key === "Enter" || pressed.key === " ")) { pressed.preventDefault(); select(item); }
    });
    layout.append(list, panel);
    section.append(layout);
    const failedItem = list.querySelector(".trace-bar.failed");
    if (failedItem) select(failedItem); // the failure is what one opens a failed run for
    return section;
  }

  // ---- the view -------------------------------------------------------------------------

  function facts(run) {
    const list = element("dl", "facts run-facts");
    const trigger = run.trigger || {};
    let correlation = null;
    if (run.correlationId) {
      correlation = element("span");
      const events = element("a", "", "events");
      events.href = `${window.location.pathname}?correlationId=${encodeURIComponent(run.correlationId)}#events`;
      events.title = "The events of this correlation id";
      correlation.append(span("mono", run.correlationId), " (", events, ")");
    }
    let temporal = null;
    const temporalHref = run.temporalUrl && httpUrl(run.temporalUrl);
    if (temporalHref) {
      temporal = element("a", "temporal", "Open in the Temporal UI ↗");
      temporal.href = temporalHref;
      temporal.target = "_blank";
      temporal.rel = "noopener noreferrer";
    }
    detailRows(list, [
      ["Automation", run.appInstance ? `${run.automation} (app ${run.appInstance})` : run.automation],
      ["Trigger", [trigger.type, trigger.value].filter(Boolean).join(": ")],
      ["Started", timeElement(run.startedAt)],
      ["Ended", run.endedAt ? timeElement(run.endedAt) : null],
      ["Duration", formatDuration(run.duration)],
      ["User", run.userId || "—"],
      ["Correlation id", correlation],
      ["Revision", run.revision],
      ["Re-run of", run.rerunOf ? runLink(run.rerunOf) : null],
      ["Workflow", run.workflowId],
      ["Temporal", temporal],
    ]);
    return list;
  }

  function errorBlock(error) {
    const block = element("section", "run-error");
    const at = error.at || {};
    const where = [at.automation, at.instruction].filter(Boolean).join(" · ");
    block.append(element("h3", "", where ? `Error at ${where}` : "Error"));
    block.append(element("pre", "", `${error.error || "Error"}: ${error.message || ""}`));
    return block;
  }

  function jsonBlock(title, className, run, key) {
    const block = element("section", className);
    block.append(element("h3", "", title));
    if (Object.prototype.hasOwnProperty.call(run, key)) {
      block.append(element("pre", "", asJson(run[key])));
    } else if (!Object.prototype.hasOwnProperty.call(run, "input")) {
      block.append(element("p", "muted", "Shown to callers who may read the workspace."));
    } else {
      block.append(element("p", "muted", run.status === "failed" ? "None: the run failed." : "None yet."));
    }
    return block;
  }

  // One open run at a time; an answer for a run no longer shown is dropped.
  let current = { runId: null, generation: 0, container: null };

  function header(runId) {
    const head = element("div", "run-head");
    const back = element("nav", "run-back");
    const runs = element("a", "", "← Runs");
    runs.href = "#runs";
    const events = element("a", "", "Events");
    events.href = "#events";
    back.append(runs, " · ", events);
    const title = element("h2", "", "Run ");
    title.append(span("mono", runId));
    head.append(back, title);
    back.classList.add("full-row");
    return head;
  }

  // The re-runs of ``run`` that the runs list shows (newest first).
  async function reruns(run) {
    const query = new URLSearchParams({ automation: run.automation, limit: "50" });
    const answer = await request(`${runsPath}?${query}`);
    const runs = (answer.ok && answer.data.result && answer.data.result.runs) || [];
    return runs.filter((other) => other.rerunOf === run.id).map((other) => other.id);
  }

  // A re-run whose automation fails is answered with that error, and the new run's id may be
  // missing from the answer: then it is the re-run of this run that was not there before.
  async function startedRerun(run, before) {
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const found = (await reruns(run)).find((id) => !before.has(id));
      if (found) return found;
      await new Promise((resolve) => { window.setTimeout(resolve, 300); });
    }
    return null;
  }

  async function act(kind, run, result) {
    const runId = run.id;
    const before = kind === "rerun" ? new Set(await reruns(run)) : null;
    const answer = await request(`${runsPath}/${encodeURIComponent(runId)}/${kind}`, { method: "POST", body: {} });
    const notice = element("span");
    if (kind === "rerun") {
      const started = answer.data.result && answer.data.result.run;
      let newId = answer.headers.get("x-tideway-run-id") || (started && started.id);
      // Unless it was refused outright (nothing started), look for the run it started.
      if (!newId && answer.status !== 0 && !(answer.status === 404 && !answer.data.error)
          && !REFUSALS.has(answer.data.error)) {
        newId = await startedRerun(run, before);
      }
      if (newId) {
        notice.append("Re-run started: ", runLink(newId));
        // A webhook run's re-run answers like the webhook: a failing automation answers 4xx.
        if (!answer.ok) notice.append(` (the automation answered ${answer.status}: ${answer.message})`);
      } else {
        notice.textContent = `Re-run failed: ${answer.message || answer.status}`;
      }
    } else {
      notice.textContent = answer.ok ? "Cancelled." : `Cancel failed: ${answer.message || answer.status}`;
    }
    notice.dataset.ok = String(answer.ok);
    result.replaceChildren(notice);
    if (current.runId === runId) await load(runId, notice); // the run's status may have changed
  }

  function actions(run) {
    const bar = element("div", "run-actions");
    const result = element("p", "run-action-result");
    result.setAttribute("role", "status");
    const rerun = element("button", "", "Re-run");
    rerun.type = "button";
    rerun.id = "rerun";
    rerun.title = "Start this run again with the same input";
    bar.append(rerun);
    const buttons = [rerun];
    if (CANCELLABLE.has(run.status)) {
      const cancel = element("button", "danger", "Cancel");
      cancel.type = "button";
      cancel.id = "cancel-run";
      bar.append(cancel);
      buttons.push(cancel);
    }
    for (const button of buttons) {
      button.addEventListener("click", async () => {
        for (const other of buttons) other.disabled = true;
        result.textContent = button.id === "rerun" ? "Re-running…" : "Cancelling…";
        await act(button.id === "rerun" ? "rerun" : "cancel", run, result);
        for (const other of buttons) other.disabled = false;
      });
    }
    bar.append(result);
    return bar;
  }

  function render(container, runId, run, notice) {
    const head = header(runId);
    head.querySelector("h2").append(" ", statusBadge(run.status));
    head.append(actions(run));
    const view = [head, facts(run)];
    if (run.error) view.push(errorBlock(run.error));
    view.push(waterfall(run));
    const data = element("div", "run-data");
    data.append(jsonBlock("Input", "run-input", run, "input"), jsonBlock("Output", "run-output", run, "output"));
    view.push(data);
    container.replaceChildren(...view);
    container.dataset.status = run.status || "";
    if (notice) container.querySelector(".run-action-result").replaceChildren(notice);
  }

  async function load(runId, notice) {
    const { container } = current;
    current.generation += 1;
    const generation = current.generation;
    const answer = await request(`${runsPath}/${encodeURIComponent(runId)}`);
    if (generation !== current.generation || current.runId !== runId) return;
    const run = answer.ok && answer.data.result && answer.data.result.run;
    if (!run) {
      const message = answer.status === 404 && !answer.data.error
        ? "the runs API is not available on this server (404)" : answer.message || `answer ${answer.status}`;
      container.replaceChildren(header(runId), element("p", "message run-missing", `Could not load this run: ${message}.`));
      container.dataset.status = "missing";
      return;
    }
    render(container, runId, run, notice);
  }

  // Shows run ``runId`` in ``container`` (loading first, then the run or a short message).
  function show(container, runId) {
    current = { runId, generation: current.generation + 1, container };
    container.dataset.runId = runId;
    container.dataset.status = "loading";
    container.replaceChildren(header(runId), element("p", "muted", "Loading…"));
    return load(runId, null);
  }

  window.TidewayRunView = Object.freeze({ show, formatDuration, timeElement, statusBadge, runLink, element });
})();
