// The live jobs view: the page is complete as the server sent it; this keeps it current from
// the server's event stream (/console/jobs/events). Each event is a batch of jobs' latest
// summaries: a job already shown is updated in place, a new one that matches the filters is
// added at the top (only on the first page). After a lost stream the rows are fetched again,
// so nothing that happened meanwhile is missed.
"use strict";

(function () {
  const table = document.getElementById("jobs");
  const status = document.getElementById("live-status");
  if (!table || !status || status.dataset.live !== "on" || !window.EventSource) {
    return;
  }
  const body = table.tBodies[0];
  const labels = JSON.parse(table.dataset.labels);
  const size = parseInt(table.dataset.size, 10) || 50;
  const query = new URLSearchParams(window.location.search);
  const wanted = {
    queue: query.get("queue") || "",
    user: query.get("user") || "",
    project: query.get("project") || "",
    department: query.get("department") || "",
    state: query.get("state") || "",
    from: query.get("from") || "",
    to: query.get("to") || "",
  };

  function matches(job) {
    const day = job.created.slice(0, 10);
    return (!wanted.queue || job.queue === wanted.queue)
      && (!wanted.user || job.user === wanted.user)
      && (!wanted.project || job.project === wanted.project)
      && (!wanted.department || job.department === wanted.department)
      && (!wanted.state || job.state === wanted.state)
      && (!wanted.from || day >= wanted.from)
      && (!wanted.to || day <= wanted.to);
  }

  function cell(row, name) {
    return row.querySelector("td.job-" + name);
  }

  function fill(row, job) {
    row.dataset.state = job.state;
    const state = cell(row, "state");
    state.replaceChildren();
    const badge = document.createElement("span");
    badge.className = "state state-" + job.state;
    badge.textContent = labels[job.state] || job.state;
    const message = document.createElement("div");
    message.className = "muted job-message";
    message.textContent = job.message;
    state.append(badge, message);
    cell(row, "printer").textContent = job.printer;
    cell(row, "pages").textContent = job.pages === null ? "" : String(job.pages);
    cell(row, "user").textContent = job.user;
  }

  function newRow(job) {
    const row = document.createElement("tr");
    row.dataset.jobId = String(job.id);
    row.className = "job-new";
    for (const name of ["id", "created", "queue", "user", "name", "state", "printer", "pages"]) {
      const td = document.createElement("td");
      td.className = "job-" + name;
      row.append(td);
    }
    const link = document.createElement("a");
    link.href = "/console/jobs/" + job.id;
    link.textContent = String(job.id);
    cell(row, "id").append(link);
    cell(row, "created").textContent = job.created;
    cell(row, "queue").textContent = job.queue;
    cell(row, "name").textContent = job.name;
    fill(row, job);
    return row;
  }

  function place(row, id) {
    for (const other of body.rows) {
      if (parseInt(other.dataset.jobId, 10) < id) {
        body.insertBefore(row, other);
        return;
      }
    }
    body.append(row);
  }

  function apply(jobs) {
    for (const job of jobs) {
      const row = body.querySelector('tr[data-job-id="' + job.id + '"]');
      if (row) {
        fill(row, job);
      } else if (matches(job)) {
        place(newRow(job), job.id);
      }
    }
    while (body.rows.length > size) {
      body.deleteRow(body.rows.length - 1);
    }
    const empty = document.getElementById("jobs-empty");
    if (empty) {
      empty.hidden = body.rows.length > 0;
    }
  }

  async function reload() {
    const reply = await fetch(window.location.href, { credentials: "same-origin" });
    if (!reply.ok) {
      return;
    }
    const page = new DOMParser().parseFromString(await reply.text(), "text/html");
    const fresh = page.querySelector("#jobs tbody");
    if (fresh) {
      body.replaceChildren(...Array.from(fresh.rows).map((r) => document.importNode(r, true)));
    }
  }

  let lost = false;
  const source = new EventSource("/console/jobs/events");
  source.addEventListener("jobs", (event) => apply(JSON.parse(event.data)));
  source.addEventListener("error", () => { lost = true; });
  source.addEventListener("open", () => {
    table.dataset.streaming = "yes";
    if (lost) {
      lost = false;
      reload();
    }
  });
}());
