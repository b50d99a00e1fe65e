/* Part rows of entry forms: add a row from the formset's <template>, remove a row, and
   renumber the remaining rows so Django's formset sees part0-0, part0-1, ... */
(function () {
  "use strict";

  function renumber(table) {
    var prefix = table.dataset.prefix;
    var rows = table.querySelectorAll("tbody > tr.part-row");
    var pattern = new RegExp("^(id_)?" + prefix + "-(\\d+|__prefix__)-");
    rows.forEach(function (row, index) {
      row.querySelectorAll("[name], [id], label[for]").forEach(function (el) {
        ["name", "id", "for"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value && pattern.test(value)) {
            el.setAttribute(attr, value.replace(pattern, "$1" + prefix + "-" + index + "-"));
          }
        });
      });
    });
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    if (total) { total.value = rows.length; }
  }

  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-row]");
    if (add) {
      var prefix = add.dataset.addRow;
      var table = document.querySelector('table.part-rows[data-prefix="' + prefix + '"]');
      var template = document.getElementById(prefix + "-template");
      table.querySelector("tbody").appendChild(template.content.cloneNode(true));
      renumber(table);
      var rows = table.querySelectorAll("tbody > tr.part-row");
      var first = rows[rows.length - 1].querySelector("input, select, textarea");
      if (first) { first.focus(); }
      return;
    }
    var remove = event.target.closest("[data-remove-row]");
    if (remove) {
      var row = remove.closest("tr");
      var owner = row.closest("table.part-rows");
      row.remove();
      renumber(owner);
    }
  });
})();

/* Foreign-key pickers (web/fk_picker.py): a combobox searching the parent through the JSON
   API as people type; choosing a result puts its key (base64url JSON of the child's values,
   as web/keys.py encodes it) in the hidden input and its label in the text input.
   Keys: ArrowDown/ArrowUp move through the results, Enter chooses, Escape closes. */
(function () {
  "use strict";
  var DELAY = 150;
  var counter = 0;

  function token(values) {
    var bytes = new TextEncoder().encode(JSON.stringify(values));
    var text = "";
    bytes.forEach(function (b) { text += String.fromCharCode(b); });
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function parts(input) {
    var picker = input.closest(".fk-picker");
    return { picker: picker, list: picker.querySelector(".fk-options"),
             value: picker.querySelector("[data-fk-value]") };
  }

  function close(input) {
    var p = parts(input);
    p.list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function isOpen(input) { return !parts(input).list.hidden; }

  function options(input) { return Array.prototype.slice.call(parts(input).list.children); }

  function activate(input, index) {
    var items = options(input);
    if (!items.length) { return; }
    index = (index + items.length) % items.length;
    items.forEach(function (item, i) { item.setAttribute("aria-selected", i === index ? "true" : "false"); });
    input.setAttribute("aria-activedescendant", items[index].id);
    items[index].scrollIntoView({ block: "nearest" });
  }

  function activeIndex(input) {
    return options(input).findIndex(function (item) { return item.getAttribute("aria-selected") === "true"; });
  }

  function choose(input, item) {
    var p = parts(input);
    p.value.value = token(JSON.parse(item.dataset.values));
    input.value = item.textContent;
    input.dataset.chosen = input.value;
    close(input);
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function search(input) {
    var p = parts(input);
    var asked = ++counter;
    input.dataset.asked = asked;
    var url = p.picker.dataset.fkUrl + "?limit=20&q=" + encodeURIComponent(input.value.trim());
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { results: [] }; })
      .then(function (data) {
        if (String(asked) !== input.dataset.asked) { return; }  /* a newer search is under way */
        if (!p.list.id) { p.list.id = "fk-list-" + (++counter); }
        input.setAttribute("aria-controls", p.list.id);
        p.list.innerHTML = "";
        data.results.forEach(function (result, i) {
          var item = document.createElement("li");
          item.id = p.list.id + "-" + i;
          item.setAttribute("role", "option");
          item.setAttribute("aria-selected", "false");
          item.dataset.values = JSON.stringify(result.values);
          item.textContent = result.label;
          p.list.appendChild(item);
        });
        if (!data.results.length) {
          var none = document.createElement("li");
          none.className = "fk-none";
          none.setAttribute("aria-disabled", "true");
          none.textContent = "no match";
          p.list.appendChild(none);
        }
        p.list.hidden = document.activeElement !== input;
        input.setAttribute("aria-expanded", p.list.hidden ? "false" : "true");
        if (data.results.length) { activate(input, 0); }
      })
      .catch(function () { close(input); });
  }

  document.addEventListener("input", function (event) {
    var input = event.target.closest("[data-fk-input]");
    if (!input) { return; }
    parts(input).value.value = "";  /* the text changed: no choice until one is made */
    clearTimeout(input._fkTimer);
    input._fkTimer = setTimeout(function () { search(input); }, DELAY);
  });

  document.addEventListener("focusin", function (event) {
    var input = event.target.closest && event.target.closest("[data-fk-input]");
    if (input && !parts(input).value.value) { search(input); }
  });

  document.addEventListener("focusout", function (event) {
    var input = event.target.closest && event.target.closest("[data-fk-input]");
    if (input) { setTimeout(function () { if (document.activeElement !== input) { close(input); } }, 150); }
  });

  document.addEventListener("mousedown", function (event) {
    var item = event.target.closest(".fk-options [role=option]");
    if (!item) { return; }
    event.preventDefault();  /* keep the focus in the input */
    choose(item.closest(".fk-picker").querySelector("[data-fk-input]"), item);
  });

  document.addEventListener("keydown", function (event) {
    var input = event.target.closest && event.target.closest("[data-fk-input]");
    if (!input) { return; }
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!isOpen(input)) { search(input); return; }
      activate(input, activeIndex(input) + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter" && isOpen(input)) {
      var items = options(input);
      var index = activeIndex(input);
      event.preventDefault();
      event.stopImmediatePropagation();
      if (index >= 0 && items[index].getAttribute("role") === "option") { choose(input, items[index]); }
    } else if (event.key === "Escape" && isOpen(input)) {
      event.preventDefault();
      close(input);
    }
  }, true);
})();

/* Enter in a part row moves to the next cell (or the next row's first cell, adding a row
   after the last): it never submits the master half-entered. */
(function () {
  "use strict";
  var FIELDS = "input:not([type=hidden]), select, textarea";

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.defaultPrevented || event.isComposing) { return; }
    var field = event.target;
    var row = field.closest && field.closest("tr.part-row");
    if (!row || field.tagName === "TEXTAREA" || field.tagName === "BUTTON") { return; }
    event.preventDefault();
    var cells = Array.prototype.slice.call(row.querySelectorAll(FIELDS));
    var next = cells[cells.indexOf(field) + 1];
    if (!next) {
      var following = row.nextElementSibling;
      if (!following) {
        var table = row.closest("table.part-rows");
        var add = document.querySelector('[data-add-row="' + table.dataset.prefix + '"]');
        add.click();  /* adds a row and focuses its first cell */
        return;
      }
      next = following.querySelector(FIELDS);
    }
    if (next) { next.focus(); }
  });
})();
