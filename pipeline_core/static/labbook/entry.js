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
