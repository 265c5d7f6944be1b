// Custom reports: drag a panel to reorder it. The new order is posted with the page's own
// order form (it carries the CSRF token); without this script the Up/Down buttons do it.
"use strict";

(function () {
  const list = document.getElementById("panels");
  const form = document.getElementById("order-form");
  const field = document.getElementById("order-field");
  if (!list || !form || !field) {
    return;
  }
  let dragged = null;

  function panelOf(node) {
    return node && node.closest ? node.closest("li.custom-panel") : null;
  }

  list.addEventListener("dragstart", function (event) {
    dragged = panelOf(event.target);
    if (dragged && event.dataTransfer) {
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", dragged.dataset.index);
      dragged.classList.add("dragging");
    }
  });

  list.addEventListener("dragover", function (event) {
    const over = panelOf(event.target);
    if (!dragged || !over || over === dragged) {
      return;
    }
    event.preventDefault();
    const box = over.getBoundingClientRect();
    const after = event.clientY > box.top + box.height / 2;
    list.insertBefore(dragged, after ? over.nextSibling : over);
  });

  list.addEventListener("drop", function (event) {
    event.preventDefault();
  });

  list.addEventListener("dragend", function () {
    if (!dragged) {
      return;
    }
    dragged.classList.remove("dragging");
    dragged = null;
    const order = Array.from(list.querySelectorAll("li.custom-panel")).map(function (li) {
      return li.dataset.index;
    });
    const unchanged = order.every(function (value, position) {
      return Number(value) === position;
    });
    if (!unchanged) {
      field.value = order.join(",");
      form.submit();
    }
  });
})();
