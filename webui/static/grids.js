// The queue grids (templates/console/grids/): the filter applied as you type, a cell edited
// in place (Enter saves it, Escape drops it), and the CSV mapping's drag and drop. Each one
// enhances forms and links that work without it; the server answers the same requests.
(function () {
  "use strict";

  function debounce(fn, ms) {
    let timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  // --- the filter, as you type: the same GET as the form's, its grid put in place ---------
  const filter = document.getElementById("grid-filter");
  if (filter) {
    let pending = null;
    const refresh = async function () {
      const query = new URLSearchParams(new FormData(filter)).toString();
      const url = filter.getAttribute("action") + "?" + query;
      if (pending) pending.abort();
      pending = new AbortController();
      let response;
      try {
        response = await fetch(url, { signal: pending.signal, credentials: "same-origin" });
      } catch (e) {
        return; // aborted by a newer keystroke, or offline: the form still works
      }
      if (!response.ok) return;
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = page.getElementById("grid-region");
      const region = document.getElementById("grid-region");
      if (fresh && region) {
        region.replaceWith(document.adoptNode(fresh));
        history.replaceState(null, "", url);
      }
    };
    const text = filter.querySelector("input[name=q]");
    if (text) text.addEventListener("input", debounce(refresh, 200));
    filter.querySelectorAll("select").forEach(function (select) {
      select.addEventListener("change", refresh);
    });
  }

  // --- a cell edited in place ------------------------------------------------------------
  function columnName(cell) {
    const head = cell.closest("table").tHead.rows[0].cells[cell.cellIndex];
    return head ? head.firstChild.textContent.trim() : "";
  }

  function startEdit(cell) {
    const table = cell.closest("table");
    if (!table || !table.dataset.edit || cell.querySelector("input")) return;
    const row = cell.closest("tr");
    const field = cell.dataset.field;
    const before = cell.textContent;
    const input = document.createElement("input");
    input.type = field === "password" ? "password" : "text";
    input.value = field === "password" ? "" : before;
    input.setAttribute("aria-label", columnName(cell) + " (" + row.dataset.name + ")");
    cell.textContent = "";
    cell.appendChild(input);
    input.focus();

    const finish = function (text) {
      cell.textContent = text;
      cell.focus();
    };
    const refuse = function (message) {
      let note = cell.querySelector(".error");
      if (!note) {
        note = document.createElement("div");
        note.className = "error";
        note.id = "e-cell-" + Math.random().toString(36).slice(2);
        note.setAttribute("role", "alert");
        cell.appendChild(note);
      }
      note.textContent = message;
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", note.id);
      input.focus();
    };
    const save = async function () {
      const body = new URLSearchParams();
      body.append("name", row.dataset.name);
      body.append(field, input.value);
      let answer;
      try {
        const response = await fetch(table.dataset.edit, {
          method: "POST",
          body: body,
          credentials: "same-origin",
          headers: { Accept: "application/json", "X-CSRF-Token": table.dataset.csrf },
        });
        answer = await response.json();
      } catch (e) {
        refuse(String(e));
        return;
      }
      if (answer.ok && field === "password") finish(input.value ? "*****" : before);
      else if (answer.ok) finish(answer.values[field]);
      else refuse(Object.values(answer.errors).join(" "));
    };
    input.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        finish(before);
      } else if (event.key === "Enter") {
        event.preventDefault();
        save();
      }
    });
  }

  document.addEventListener("click", function (event) {
    const cell = event.target.closest && event.target.closest("td.cell");
    if (cell) startEdit(cell);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.matches && event.target.matches("td.cell")) {
      event.preventDefault();
      startEdit(event.target);
    }
  });

  // --- the CSV mapping: a file's column dropped on a field picks it -----------------------
  document.querySelectorAll(".file-columns li[draggable]").forEach(function (item) {
    item.addEventListener("dragstart", function (event) {
      event.dataTransfer.setData("text/plain", item.dataset.index);
    });
  });
  document.querySelectorAll(".field.drop").forEach(function (zone) {
    zone.addEventListener("dragover", function (event) {
      event.preventDefault();
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", function () {
      zone.classList.remove("over");
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("over");
      zone.querySelector("select").value = event.dataTransfer.getData("text/plain");
    });
  });
})();
