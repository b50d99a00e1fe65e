/* The entry grid of a Manual/Lookup table (grid.html), built on Tabulator (vendored).

   The server is authoritative: the grid only collects values as typed or pasted and sends
   them to the rows API (contract: notes/rows-api.md):
     GET  rows/?limit=&after=      keyset pages of existing rows (loaded on scroll)
     POST rows/ {rows, parts, updates, dry_run}   "Check" (dry run) and "Save"
     POST rows/delete/ {keys, dry_run}            delete with a preview of the cascade
     GET  fk/<attribute>/?q=       the foreign-key picker (one per foreign key)
     POST batches/<batch>/undo/    undo the last saved batch
   Configuration (heading, URLs, what the role allows) comes from the json_script element
   "grid-config"; there is no inline script (the page gets a Content-Security-Policy).

   Row data: attribute values plus bookkeeping fields starting with "_": _id (Tabulator's
   index), _state ("existing" | "new" | "saved"), _orig (the values as loaded, for updates),
   _errors ({attribute: message, "": message about the whole row}), _selected, _expanded,
   _parts ({PartName: [part row data]}) and _partsLoaded. Errors live in the row data and are
   drawn by the cell formatter and rowFormatter, because Tabulator's virtual DOM recycles
   cell elements when rows scroll out and back. */
(function () {
  "use strict";

  var page = document.getElementById("grid-page");
  if (!page || typeof Tabulator === "undefined") { return; }
  var cfg = JSON.parse(document.getElementById("grid-config").textContent);
  var csrf = page.dataset.csrf;
  var seq = 0;                 // row ids (_id), unique over every grid of the page
  var grids = new Map();       // table element -> grid context (see makeGrid)
  var lastBatch = null;        // batch id of the last save or delete, for "Undo last save"
  var lastFocus = null;        // {ctx, row, field}: where the user last was in a grid
  var statusEl = document.getElementById("grid-status");
  var errorsEl = document.getElementById("grid-errors");
  var loadedEl = document.getElementById("grid-loaded");

  // ----------------------------------------------------------------------------------------
  // small helpers
  // ----------------------------------------------------------------------------------------

  function status(text, kind) {
    statusEl.textContent = text;
    statusEl.className = "grid-status" + (kind ? " " + kind : "");
  }

  /* fetch() with JSON in and out; resolves to {status, ok, data} (never rejects on HTTP
     errors; a network failure resolves with status 0). */
  function api(method, url, body) {
    var options = {
      method: method,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrf },
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response.text().then(function (text) {
        var data;
        try { data = text ? JSON.parse(text) : {}; } catch (e) { data = { detail: text.slice(0, 300) }; }
        return { status: response.status, ok: response.ok, data: data };
      });
    }, function (error) {
      return { status: 0, ok: false, data: { detail: String(error) } };
    });
  }

  function messageOf(result) {
    var d = result.data || {};
    return d.detail || d.error || d.message || ("HTTP " + result.status);
  }

  function isEmpty(value) { return value === null || value === undefined || value === ""; }

  function same(a, b) {
    if (isEmpty(a) && isEmpty(b)) { return true; }
    if (a !== null && typeof a === "object") { return JSON.stringify(a) === JSON.stringify(b); }
    return String(a) === String(b);
  }

  function plain(data, spec) {
    // the attribute values of a row's data (no bookkeeping fields)
    var out = {};
    spec.columns.forEach(function (c) { out[c.name] = data[c.name]; });
    return out;
  }

  function keyOf(values, spec) {
    var key = {};
    spec.primary_key.forEach(function (name) { key[name] = values[name]; });
    return key;
  }

  // ----------------------------------------------------------------------------------------
  // columns: editors, formatters, header tooltips
  // ----------------------------------------------------------------------------------------

  var PLACEHOLDERS = {
    date: "YYYY-MM-DD", datetime: "YYYY-MM-DD HH:MM:SS", time: "HH:MM:SS",
    uuid: "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
  };

  /* Tabulator editor (and its params) for one attribute, by type family. */
  function editorOf(ctx, col) {
    if (col.fk !== null && col.fk !== undefined) {
      return { editor: fkEditor(ctx, ctx.spec.foreign_keys[col.fk], col), params: {} };
    }
    var attrs = {};
    if (PLACEHOLDERS[col.family]) { attrs.placeholder = PLACEHOLDERS[col.family]; }
    if (!isEmpty(col.default) && !col.nullable) { attrs.placeholder = "default: " + col.default; }
    switch (col.family) {
      case "integer":
        return { editor: "number", params: { step: 1, min: col.unsigned ? 0 : undefined, selectContents: true, elementAttributes: attrs } };
      case "float":
        return { editor: "number", params: { step: "any", selectContents: true, elementAttributes: attrs } };
      case "decimal":
        attrs.inputmode = "decimal";
        return { editor: "input", params: { selectContents: true, elementAttributes: attrs } };
      case "enum":
        // typed text is kept as typed (freetext): the server checks it against the members
        return { editor: "list", params: { values: (col.nullable ? [""] : []).concat(col.enum), autocomplete: true, freetext: true, listOnEmpty: true, allowEmpty: col.nullable } };
      case "bool":
        return { editor: "list", params: { values: [{ label: "true", value: true }, { label: "false", value: false }], allowEmpty: col.nullable } };
      case "json":
        return { editor: "textarea", params: { elementAttributes: { spellcheck: "false" } } };
      case "uuid":
        attrs.maxlength = 36; attrs.spellcheck = "false";
        return { editor: "input", params: { selectContents: true, elementAttributes: attrs } };
      case "text":
        if (col.length) {
          attrs.maxlength = col.length;
          return { editor: "input", params: { selectContents: true, elementAttributes: attrs } };
        }
        return { editor: "textarea", params: {} };
      default:
        return { editor: "input", params: { selectContents: true, elementAttributes: attrs } };
    }
  }

  /* Whether a cell may be edited: never blobs/attachments or a part's inherited master
     key; new rows by the entry role; saved rows' secondary attributes by editors (of the
     table itself, not its parts); primary-key cells of saved rows never. */
  function editable(ctx, col, data) {
    if (col.read_only || ctx.spec.inherited.indexOf(col.name) >= 0) { return false; }
    if (data._state === "new") { return cfg.can.insert; }
    return !col.in_key && !ctx.master && cfg.can.update;
  }

  /* The cell formatter: the value as text (NULL marked), and the cell's error, kept in the
     row data, as a class, a title and aria attributes. Returns a node, never HTML. */
  function formatterOf(ctx, col) {
    return function (cell) {
      var el = cell.getElement();
      var data = cell.getRow().getData();
      var value = cell.getValue();
      var error = data._errors && data._errors[col.name];
      el.classList.toggle("grid-cell-error", !!error);
      if (error) {
        el.setAttribute("title", error);
        el.setAttribute("aria-invalid", "true");
        el.setAttribute("aria-description", error);
      } else {
        el.removeAttribute("aria-invalid");
        el.removeAttribute("aria-description");
        if (col.comment) { el.setAttribute("title", col.comment); } else { el.removeAttribute("title"); }
      }
      el.classList.toggle("grid-cell-changed", data._state !== "new" && !!data._orig && !same(data._orig[col.name], value));
      el.classList.toggle("grid-cell-locked", !editable(ctx, col, data));
      var span = document.createElement("span");
      if (value === null || value === undefined) {
        if (data._state !== "new") { span.className = "grid-null"; span.textContent = "NULL"; }
      } else if (typeof value === "object") {
        span.textContent = JSON.stringify(value);
      } else {
        span.textContent = String(value);
      }
      return span;
    };
  }

  function tooltipOf(ctx, col) {
    var text = col.name + " : " + col.type + (col.in_key ? " (primary key)" : "");
    if (col.fk !== null && col.fk !== undefined) {
      var fk = ctx.spec.foreign_keys[col.fk];
      text += "\nforeign key to " + fk.parent + " (" + fk.attributes.join(", ") + "): pick, or type a label or key";
    }
    if (col.read_only) { text += "\nshown only: not entered in the grid"; }
    if (col.comment) { text += "\n" + col.comment; }
    return text;
  }

  function columnsOf(ctx) {
    var spec = ctx.spec;
    var columns = [{
      title: "", field: "_selected", headerSort: false, width: 34, hozAlign: "center", frozen: true,
      formatter: function (cell) {
        var box = document.createElement("input");
        box.type = "checkbox";
        box.className = "grid-select";
        box.checked = !!cell.getRow().getData()._selected;
        box.setAttribute("aria-label", "select row " + (cell.getRow().getPosition() || ""));
        box.addEventListener("change", function () { cell.getRow().getData()._selected = box.checked; });
        box.addEventListener("focus", function () { lastFocus = { ctx: ctx, row: cell.getRow(), field: null }; });
        return box;
      },
    }];
    if (!ctx.master && cfg.parts.length) {
      columns.push({
        title: "Parts", field: "_expanded", headerSort: false, width: 70, frozen: true,
        formatter: function (cell) {
          var row = cell.getRow();
          var data = row.getData();
          var button = document.createElement("button");
          button.type = "button";
          button.className = "grid-toggle";
          button.textContent = (data._expanded ? "▾ " : "▸ ") + partCount(data);
          button.setAttribute("aria-expanded", data._expanded ? "true" : "false");
          button.setAttribute("aria-label", (data._expanded ? "hide" : "show") + " the part rows (" + cfg.parts.map(function (p) { return p.part_name; }).join(", ") + ")");
          button.addEventListener("click", function () { toggleParts(ctx, row); });
          return button;
        },
      });
    }
    spec.columns.forEach(function (col) {
      var edit = editorOf(ctx, col);
      columns.push({
        title: col.name,
        field: col.name,
        headerSort: false,
        // the tooltip is a title (Tabulator's headerTooltip is a mouse-only popup)
        titleFormatter: function () {
          var span = document.createElement("span");
          span.className = "grid-col-title";
          span.title = tooltipOf(ctx, col);
          span.textContent = col.name;
          if (col.in_key) {
            var mark = document.createElement("abbr");
            mark.className = "key-mark"; mark.title = "primary key"; mark.textContent = "PK";
            span.appendChild(mark);
          }
          if (col.fk !== null && col.fk !== undefined) { span.appendChild(document.createTextNode(" →")); }
          return span;
        },
        cssClass: col.in_key ? "grid-pk" : "",
        editable: function (cell) { return editable(ctx, col, cell.getRow().getData()); },
        editor: edit.editor,
        editorParams: edit.params,
        formatter: formatterOf(ctx, col),
        cellEdited: function (cell) { cellEdited(ctx, cell); },
        cellEditing: function (cell) { lastFocus = { ctx: ctx, row: cell.getRow(), field: col.name }; },
        cellClick: function (e, cell) { lastFocus = { ctx: ctx, row: cell.getRow(), field: col.name }; },
      });
    });
    return columns;
  }

  /* After an edit: the cell's error is gone (its mark is removed here, as the formatter ran
     before this callback). The row is not reformatted: that would rebuild its cells while
     Tab moves the editor to the next one. */
  function cellEdited(ctx, cell) {
    var row = cell.getRow();
    var data = row.getData();
    var field = cell.getField();
    var el = cell.getElement();
    if (data._errors) { delete data._errors[field]; delete data._errors[""]; }
    if (data._state === "saved") { data._state = "existing"; }
    el.classList.remove("grid-cell-error");
    el.removeAttribute("aria-invalid");
    el.removeAttribute("aria-description");
    paintRow(row);
    if (ctx.master) { syncParts(ctx); }
  }

  /* Row classes and the row-level error message, from the row data. */
  function paintRow(row) {
    var data = row.getData();
    var el = row.getElement();
    var errors = data._errors || {};
    el.classList.toggle("grid-row-new", data._state === "new");
    el.classList.toggle("grid-row-saved", data._state === "saved");
    el.classList.toggle("grid-row-error", Object.keys(errors).length > 0);
    if (errors[""]) {
      el.setAttribute("title", errors[""]);
      el.setAttribute("aria-description", errors[""]);
    } else {
      el.removeAttribute("title");
      el.removeAttribute("aria-description");
    }
  }

  /* rowFormatter: row classes and the row-level error; a master row also gets its part
     sub-grids when expanded. */
  function rowFormatterOf(ctx) {
    return function (row) {
      paintRow(row);
      if (!ctx.master && cfg.parts.length) { drawParts(ctx, row); }
    };
  }

  // ----------------------------------------------------------------------------------------
  // the foreign-key picker: one editor per foreign key; choosing a parent row fills every
  // attribute of the foreign key; free text is kept as typed and resolved by the server
  // ----------------------------------------------------------------------------------------

  function fkEditor(ctx, fk, col) {
    return function (cell, onRendered, success, cancel) {
      var input = document.createElement("input");
      var list = document.createElement("ul");
      var results = [];
      var active = -1;
      var timer = null;
      var done = false;
      var listId = "grid-picker-" + (++seq);
      var value = cell.getValue();
      input.type = "text";
      input.value = isEmpty(value) ? "" : String(value);
      input.className = "grid-fk-input";
      input.style.width = "100%";
      input.style.boxSizing = "border-box";
      input.style.padding = "4px";
      input.setAttribute("role", "combobox");
      input.setAttribute("aria-autocomplete", "list");
      input.setAttribute("aria-expanded", "false");
      input.setAttribute("aria-controls", listId);
      input.setAttribute("aria-label", col.name + ": search " + fk.parent);
      list.id = listId;
      list.className = "grid-picker";
      list.setAttribute("role", "listbox");

      function place() {
        var rect = cell.getElement().getBoundingClientRect();
        list.style.left = (rect.left + window.scrollX) + "px";
        list.style.top = (rect.bottom + window.scrollY) + "px";
      }
      function draw() {
        list.textContent = "";
        results.forEach(function (result, index) {
          var item = document.createElement("li");
          item.id = listId + "-" + index;
          item.setAttribute("role", "option");
          item.setAttribute("aria-selected", index === active ? "true" : "false");
          item.textContent = result.label;
          item.addEventListener("mousedown", function (e) { e.preventDefault(); pick(index); });
          list.appendChild(item);
        });
        if (!results.length) {
          var none = document.createElement("li");
          none.className = "empty";
          none.textContent = "no match: the text is sent as typed";
          list.appendChild(none);
        }
        if (active >= 0) { input.setAttribute("aria-activedescendant", listId + "-" + active); }
        else { input.removeAttribute("aria-activedescendant"); }
        input.setAttribute("aria-expanded", "true");
      }
      function search() {
        var query = input.value;
        api("GET", fk.url + "?limit=20&q=" + encodeURIComponent(query)).then(function (result) {
          if (done || query !== input.value) { return; }
          results = result.ok ? (result.data.results || []) : [];
          active = -1;
          draw();
        });
      }
      function cleanup() {
        done = true;
        clearTimeout(timer);
        if (list.parentNode) { list.parentNode.removeChild(list); }
      }
      function pick(index) {
        var chosen = results[index];
        if (!chosen || done) { return; }
        cleanup();
        var row = cell.getRow();
        var others = {};
        fk.attributes.forEach(function (name) {
          if (name !== col.name) { others[name] = chosen.values[name]; }
        });
        var data = row.getData();
        fk.attributes.forEach(function (name) { if (data._errors) { delete data._errors[name]; } });
        success(chosen.values[col.name]);
        if (Object.keys(others).length) { row.update(others).then(function () { paintRow(row); }); }
      }
      input.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(search, 200);
      });
      input.addEventListener("keydown", function (e) {
        if (e.key === "ArrowDown" || e.key === "ArrowUp") {
          if (results.length) {
            active = e.key === "ArrowDown" ? Math.min(active + 1, results.length - 1) : Math.max(active - 1, 0);
            draw();
          }
          e.preventDefault();
          e.stopPropagation();
        } else if (e.key === "Enter" && active >= 0) {
          e.preventDefault();
          e.stopPropagation();
          pick(active);
        } else if (e.key === "Enter") {
          cleanup();
          success(input.value);
        } else if (e.key === "Escape") {
          cleanup();
          cancel();
        }
      });
      input.addEventListener("blur", function () {
        if (!done) { cleanup(); success(input.value); }
      });
      onRendered(function () {
        input.focus();
        input.select();
        document.body.appendChild(list);
        place();
        search();
      });
      return input;
    };
  }

  // ----------------------------------------------------------------------------------------
  // grids (the table's, and one per expanded master row and part table)
  // ----------------------------------------------------------------------------------------

  /* A grid context: {table (Tabulator), spec (table_spec of the view), master (the master
     row component of a part sub-grid, else null), part (part name), element}. */
  function makeGrid(element, spec, master, options) {
    var ctx = { spec: spec, master: master || null, part: master ? spec.part_name : null, element: element };
    ctx.table = new Tabulator(element, Object.assign({
      index: "_id",
      layout: "fitDataFill",
      placeholder: "No rows yet: type, paste or import some.",
      clipboard: "copy",
      editTriggerEvent: "focus",
      columns: columnsOf(ctx),
      rowFormatter: rowFormatterOf(ctx),
      // Tab past the last cell of the last row adds a row (sticky values, see newRow)
      tabEndNewRow: function () { return newRow(ctx, {}, true); },
    }, options || {}));
    grids.set(element, ctx);
    return ctx;
  }

  /* Data of a new row: values given, the part's master key, and (sticky) the foreign-key
     and date values of the previous new row. */
  function newRow(ctx, values, sticky) {
    var data = { _id: ++seq, _state: "new", _errors: {}, _parts: {} };
    ctx.spec.columns.forEach(function (col) { data[col.name] = ""; });
    if (sticky) {
      var previous = lastNewRow(ctx);
      if (previous) {
        ctx.spec.columns.forEach(function (col) {
          var isFk = col.fk !== null && col.fk !== undefined;
          if ((isFk || col.family === "date" || col.family === "datetime") && !col.read_only) {
            data[col.name] = previous[col.name];
          }
        });
      }
    }
    if (ctx.master) { Object.assign(data, masterKey(ctx)); }
    Object.keys(values || {}).forEach(function (name) { data[name] = values[name]; });
    return data;
  }

  function lastNewRow(ctx) {
    var rows = ctx.table.getData();
    for (var i = rows.length - 1; i >= 0; i--) {
      if (rows[i]._state === "new") { return rows[i]; }
    }
    return null;
  }

  function masterKey(ctx) {
    var values = ctx.master.getData();
    var key = {};
    ctx.spec.inherited.forEach(function (name) { key[name] = values[name]; });
    return key;
  }

  /* Add a new row at the bottom and (focus) open the editor of its first editable cell. */
  function addRow(ctx, focus, values) {
    return ctx.table.addRow(newRow(ctx, values || {}, true), false).then(function (row) {
      if (ctx.master) { syncParts(ctx); }
      if (focus && ctx.master) {
        editFirst(ctx, row);  // a sub-grid has no scrolling of its own
      } else if (focus) {
        row.scrollTo().then(function () { editFirst(ctx, row); }, function () { editFirst(ctx, row); });
      }
      return row;
    });
  }

  function editFirst(ctx, row) {
    var data = row.getData();
    var first = ctx.spec.columns.filter(function (col) { return editable(ctx, col, data); })[0];
    if (first) { row.getCell(first.name).edit(true); }
  }

  // ----------------------------------------------------------------------------------------
  // master + parts: a master row expands into one sub-grid per part table
  // ----------------------------------------------------------------------------------------

  function partCount(data) {
    var n = 0;
    Object.keys(data._parts || {}).forEach(function (name) { n += data._parts[name].length; });
    return data._partsLoaded || data._state === "new" ? String(n) : "";
  }

  function toggleParts(ctx, row) {
    closeEditors();  // the row is rebuilt: an editor open in it commits first
    var data = row.getData();
    data._expanded = !data._expanded;
    if (data._expanded && data._state !== "new" && !data._partsLoaded) {
      loadParts(row).then(function () { row.reformat(); });
    } else {
      row.reformat();
    }
  }

  /* Existing part rows of a saved master row, through the query API (restricted by the
     master's key). */
  function loadParts(row) {
    var data = row.getData();
    var jobs = cfg.parts.map(function (part) {
      var where = part.inherited.map(function (name) {
        return { attribute: name, operator: "=", value: data._orig ? data._orig[name] : data[name] };
      });
      var body = { from: { schema: part.schema, table: part.table }, limit: 1000 };
      if (where.length) { body.where = where.length === 1 ? where[0] : { and: where }; }
      return api("POST", cfg.query_url, body).then(function (result) {
        var rows = result.ok ? (result.data.rows || []) : [];
        data._parts[part.part_name] = rows.map(function (values) {
          return Object.assign({ _id: ++seq, _state: "existing", _errors: {}, _orig: Object.assign({}, values) }, values);
        });
        if (!result.ok) { status("Could not read the " + part.part_name + " rows: " + messageOf(result), "bad"); }
      });
    });
    return Promise.all(jobs).then(function () { data._partsLoaded = true; });
  }

  /* Draw (or remove) the part sub-grids under a master row. Sub-grids are rebuilt from the
     row data whenever the row is formatted again. */
  function drawParts(ctx, row) {
    var el = row.getElement();
    var data = row.getData();
    var old = el.querySelector(":scope > .grid-parts");
    if (old) {
      old.querySelectorAll(".tabulator").forEach(function (sub) {
        var subCtx = grids.get(sub);
        if (subCtx) { grids.delete(sub); subCtx.table.destroy(); }
      });
      el.removeChild(old);
    }
    if (!data._expanded) { return; }
    var holder = document.createElement("div");
    holder.className = "grid-parts";
    el.appendChild(holder);
    cfg.parts.forEach(function (part) {
      var title = document.createElement("h3");
      title.textContent = part.class_name + " rows";
      var sub = document.createElement("div");
      sub.className = "grid grid-part";
      sub.dataset.part = part.part_name;
      var actions = document.createElement("div");
      actions.className = "grid-part-actions";
      var add = document.createElement("button");
      add.type = "button";
      add.textContent = "+ " + part.part_name + " row";
      actions.appendChild(add);
      holder.appendChild(title);
      holder.appendChild(sub);
      holder.appendChild(actions);
      if (!data._parts[part.part_name]) { data._parts[part.part_name] = []; }
      // autoResize off: its observers redraw (rebuild) every row of the sub-grid when the
      // master row scrolls in and out of view, tearing down an open editor
      var subCtx = makeGrid(sub, part, row, { data: data._parts[part.part_name].slice(), height: false, layout: "fitDataFill", autoResize: false });
      add.addEventListener("click", function () { addRow(subCtx, true); });
      subCtx.table.on("tableBuilt", function () { row.normalizeHeight(); });
      subCtx.table.on("dataChanged", function () { row.normalizeHeight(); });
      subCtx.table.on("rowAdded", function () { row.normalizeHeight(); });
    });
  }

  /* Copy a sub-grid's rows back into its master row's data (kept there while the sub-grid
     is rebuilt or scrolled away). */
  function syncParts(ctx) {
    var data = ctx.master.getData();
    data._parts[ctx.part] = ctx.table.getData();
  }

  // ----------------------------------------------------------------------------------------
  // loading existing rows: keyset pages, the next one when the user scrolls near the end
  // ----------------------------------------------------------------------------------------

  var main;
  var cursor = undefined;     // undefined: not loaded yet; null: all loaded
  var loading = false;
  var loadedCount = 0;

  function existingRow(values) {
    return Object.assign({ _id: ++seq, _state: "existing", _errors: {}, _parts: {}, _orig: Object.assign({}, values) }, values);
  }

  function loadPage() {
    if (loading || cursor === null) { return Promise.resolve(); }
    loading = true;
    var url = cfg.rows_url + "?limit=" + cfg.page_size + (cursor ? "&after=" + encodeURIComponent(cursor) : "");
    return api("GET", url).then(function (result) {
      if (!result.ok) {
        loading = false;
        status("Could not load rows: " + messageOf(result), "bad");
        return;
      }
      var rows = (result.data.rows || []).map(existingRow);
      cursor = result.data.next || null;
      // existing rows go after the last existing row, so new rows stay at the bottom
      var all = main.table.getRows();
      var existing = all.filter(function (r) { return r.getData()._state !== "new"; });
      var after = existing.length ? existing[existing.length - 1] : null;
      var added;
      if (!rows.length) {
        added = Promise.resolve();
      } else if (existing.length === all.length) {
        added = main.table.addData(rows, false);  // no new rows: a plain append
      } else {
        added = after ? main.table.addData(rows, false, after) : main.table.addData(rows, true);
      }
      return added.then(function () {
        // the virtual DOM does not count rows added below the view in its scroll height
        // until they are rendered: a forced redraw does (the scroll position is put back)
        if (loadedCount && rows.length) {
          var holder = main.element.querySelector(".tabulator-tableholder");
          var top = holder.scrollTop;
          closeEditors();  // a forced redraw rebuilds every row, open editors included
          main.table.redraw(true);
          holder.scrollTop = top;
        }
        loadedCount += rows.length;
        loading = false;
        loadedEl.textContent = loadedCount + " saved row" + (loadedCount === 1 ? "" : "s") + " loaded" + (cursor ? "; scroll down for more." : ".");
        page.dataset.loaded = cursor ? "partial" : "all";
      });
    });
  }

  function reload() {
    cursor = undefined;
    loadedCount = 0;
    var keep = main.table.getData().filter(function (d) { return d._state === "new"; });
    return main.table.replaceData(keep).then(loadPage);
  }

  // ----------------------------------------------------------------------------------------
  // paste: a real paste event with TSV text (Excel, LibreOffice, Google Sheets)
  // ----------------------------------------------------------------------------------------

  /* Rows of cells from TSV text: quoted cells may hold tabs, newlines and doubled quotes;
     CRLF or LF line ends; the trailing empty line spreadsheets add is dropped. */
  function parseTSV(text) {
    var parsed = Papa.parse(text, { delimiter: "\t", quoteChar: "\"", skipEmptyLines: false });
    var rows = parsed.data;
    while (rows.length && rows[rows.length - 1].every(function (cell) { return cell === ""; })) { rows.pop(); }
    return rows;
  }

  /* Commit any open cell editor (its blur handler) before rows change under it: Tabulator
     would otherwise remove the focused editor while redrawing the cell. */
  function closeEditors() {
    document.querySelectorAll(".tabulator-cell.tabulator-editing input, .tabulator-cell.tabulator-editing textarea, .tabulator-cell.tabulator-editing select")
      .forEach(function (input) {
        // blur() does nothing to an element without the focus: give it the focus first
        if (document.activeElement !== input) { input.focus({ preventScroll: true }); }
        input.blur();
      });
  }

  function ctxOf(node) {
    var el = node && node.closest ? node.closest(".tabulator") : null;
    while (el) {
      if (grids.has(el)) { return grids.get(el); }
      el = el.parentElement ? el.parentElement.closest(".tabulator") : null;
    }
    return null;
  }

  function rowOfElement(ctx, rowEl) {
    if (!rowEl) { return null; }
    var rows = ctx.table.getRows();
    for (var i = 0; i < rows.length; i++) { if (rows[i].getElement() === rowEl) { return rows[i]; } }
    return null;
  }

  /* The paste anchor: the cell the paste event reached (or the one last focused). */
  function anchorOf(target) {
    var ctx = ctxOf(target);
    if (ctx) {
      var cellEl = target.closest(".tabulator-cell");
      var rowEl = target.closest(".tabulator-row");
      // the cell must belong to this grid, not to a sub-grid around it
      if (cellEl && ctxOf(cellEl) === ctx) {
        return { ctx: ctx, row: rowOfElement(ctx, rowEl), field: cellEl.getAttribute("tabulator-field") };
      }
      return { ctx: ctx, row: null, field: null };
    }
    if (lastFocus && (target === document.body || page.contains(target))) { return lastFocus; }
    return null;
  }

  /* Attribute names matched by a first pasted line that names attributes, else null. */
  function headerFields(spec, first) {
    var names = spec.columns.map(function (col) { return col.name; });
    // a UTF-8 byte-order mark (files saved by Excel) is not part of the first name
    var cells = first.map(function (cell) { return cell.replace(/^\ufeff/, "").trim(); });
    var named = cells.filter(function (cell) { return cell !== ""; });
    if (!named.length || !named.every(function (cell) { return names.indexOf(cell) >= 0; })) { return null; }
    return cells.map(function (cell) { return cell || null; });
  }

  /* Put pasted (or imported) rows of cells into a grid from the anchor on: columns by
     position from the anchor's column, or by name when the first line names attributes;
     rows past the last one are appended as new rows. Returns a promise. */
  function pasteRows(ctx, cells, anchorRow, anchorField) {
    if (!cells.length) { return Promise.resolve(0); }
    closeEditors();
    var spec = ctx.spec;
    var names = spec.columns.map(function (col) { return col.name; });
    var byName = {};
    spec.columns.forEach(function (col) { byName[col.name] = col; });
    var fields = headerFields(spec, cells[0]);
    if (fields) {
      cells = cells.slice(1);
    } else {
      var start = Math.max(0, names.indexOf(anchorField));
      fields = cells.reduce(function (longest, row) { return row.length > longest.length ? row : longest; }, [])
        .map(function (_, j) { return names[start + j] || null; });
    }
    var display = ctx.table.getRows("active");
    var first = anchorRow ? display.indexOf(anchorRow) : display.length;
    if (first < 0) { first = display.length; }
    var changed = [];
    var added = [];
    var skipped = 0;
    cells.forEach(function (rowCells, i) {
      var target = display[first + i];
      var data = target ? target.getData() : null;
      var values = {};
      rowCells.forEach(function (text, j) {
        var col = byName[fields[j]];
        if (!col) { return; }
        if (col.read_only || (data ? !editable(ctx, col, data) : spec.inherited.indexOf(col.name) >= 0)) {
          if (text !== "" && !(data && same(data[col.name], text))) { skipped++; }
          return;
        }
        values[col.name] = text;
      });
      if (target) {
        changed.push([target, values]);
      } else {
        added.push(newRow(ctx, values, false));
      }
    });
    var jobs = changed.map(function (pair) {
      var data = pair[0].getData();
      Object.keys(pair[1]).forEach(function (name) { delete data._errors[name]; });
      delete data._errors[""];
      if (data._state === "saved") { data._state = "existing"; }
      return pair[0].update(pair[1]).then(function () { paintRow(pair[0]); });
    });
    if (added.length) {
      // the first appended row is shown (the main grid may hold many saved rows above)
      jobs.push(ctx.table.addData(added, false).then(function (rows) {
        if (!ctx.master && !anchorRow && rows.length) { return rows[0].scrollTo("top", false).catch(function () {}); }
      }));
    }
    return Promise.all(jobs).then(function () {
      if (ctx.master) { syncParts(ctx); }
      var text = "Pasted " + cells.length + " row" + (cells.length === 1 ? "" : "s") + " (" + added.length + " new)";
      if (skipped) { text += "; " + skipped + " value" + (skipped === 1 ? "" : "s") + " not pasted into cells that cannot change"; }
      status(text + ". Check, then Save.");
      return cells.length;
    });
  }

  document.addEventListener("paste", function (e) {
    var target = e.target instanceof Element ? e.target : null;
    if (!target) { return; }
    var anchor = anchorOf(target);
    if (!anchor) { return; }
    var text = e.clipboardData ? e.clipboardData.getData("text/plain") : "";
    if (!text) { return; }
    var inEditor = target.matches("input, textarea");
    // one value into an open editor: the browser pastes it into the input
    if (inEditor && !/[\t\r\n]/.test(text.replace(/[\r\n]+$/, ""))) { return; }
    e.preventDefault();
    e.stopPropagation();
    pasteRows(anchor.ctx, parseTSV(text), anchor.row, anchor.field);
  }, true);

  // ----------------------------------------------------------------------------------------
  // Check (dry run) and Save: one POST of the new rows, the part rows and the changes
  // ----------------------------------------------------------------------------------------

  /* The values of a new row to send: empty cells are left out (the attribute's default or
     NULL applies); read-only attributes are never sent. */
  function toSend(spec, data) {
    var out = {};
    spec.columns.forEach(function (col) {
      var value = data[col.name];
      if (!col.read_only && !isEmpty(value)) { out[col.name] = value; }
    });
    return out;
  }

  /* {body, refs}: the request body and, per list, the row data each entry came from. */
  function collect(dryRun) {
    var body = { rows: [], parts: {}, updates: [], dry_run: dryRun };
    var refs = { rows: [], updates: [] };
    main.table.getRows().forEach(function (row) {
      var data = row.getData();
      if (data._state === "new") {
        body.rows.push(toSend(cfg, data));
        refs.rows.push({ row: row, data: data });
      } else if (data._orig) {
        var set = {};
        cfg.columns.forEach(function (col) {
          if (!col.read_only && !col.in_key && !same(data._orig[col.name], data[col.name])) {
            set[col.name] = isEmpty(data[col.name]) ? null : data[col.name];
          }
        });
        if (Object.keys(set).length) {
          body.updates.push({ key: keyOf(data._orig, cfg), set: set });
          refs.updates.push({ row: row, data: data });
        }
      }
      cfg.parts.forEach(function (part) {
        (data._parts[part.part_name] || []).forEach(function (partData) {
          if (partData._state !== "new") { return; }
          var values = toSend(part, partData);
          part.inherited.forEach(function (name) {
            var source = data._state === "new" ? data : (data._orig || data);
            values[name] = source[name];
          });
          var list = "parts." + part.part_name;
          if (!body.parts[part.part_name]) { body.parts[part.part_name] = []; refs[list] = []; }
          body.parts[part.part_name].push(values);
          refs[list].push({ row: row, data: partData, master: data });
        });
      });
    });
    if (!body.updates.length) { delete body.updates; }
    return { body: body, refs: refs };
  }

  function clearErrors() {
    main.table.getRows().forEach(function (row) {
      var data = row.getData();
      var had = Object.keys(data._errors || {}).length;
      data._errors = {};
      Object.keys(data._parts || {}).forEach(function (name) {
        data._parts[name].forEach(function (partData) {
          if (Object.keys(partData._errors || {}).length) { had = true; }
          partData._errors = {};
        });
      });
      if (had) { row.reformat(); }
    });
    errorsEl.textContent = "";
  }

  /* Mark each error on its cell (or row), keep it in the row data, and list them all. */
  function showErrors(errors, refs) {
    var list = document.createElement("ul");
    var touched = new Set();
    errors.forEach(function (error) {
      var ref = (refs[error.list] || [])[error.row];
      var where;
      if (ref) {
        var key = error.attribute && (ref.data.hasOwnProperty(error.attribute)) ? error.attribute : "";
        ref.data._errors[key] = ref.data._errors[key] ? ref.data._errors[key] + " " + error.message : error.message;
        if (ref.master) { ref.master._errors[""] = "part rows have errors"; ref.master._expanded = true; }
        touched.add(ref.row);
        where = (ref.master ? error.list.slice(6) + " row " : "row ") + (ref.row.getPosition() || "?");
      } else {
        where = error.list + " " + error.row;
      }
      var item = document.createElement("li");
      item.textContent = where + (error.attribute ? ", " + error.attribute : "") + ": " + error.message;
      list.appendChild(item);
    });
    touched.forEach(function (row) { row.reformat(); });
    errorsEl.textContent = "";
    var head = document.createElement("p");
    head.textContent = errors.length + " problem" + (errors.length === 1 ? "" : "s") + "; nothing was written:";
    errorsEl.appendChild(head);
    errorsEl.appendChild(list);
    var first = errors.map(function (e) { return (refs[e.list] || [])[e.row]; }).filter(Boolean)[0];
    if (first && !first.master) { first.row.scrollTo(); }
  }

  function busy(on) {
    ["grid-check", "grid-save"].forEach(function (id) {
      var button = document.getElementById(id);
      if (button) { button.disabled = on; }
    });
    page.setAttribute("aria-busy", on ? "true" : "false");
  }

  /* Save: part rows carry their master's key, so a master whose foreign-key cells hold
     pasted labels is checked first and its resolved key values copied to its part rows;
     then one POST writes everything in one transaction. */
  function save() {
    closeEditors();
    var parts = collect(true).body.parts;
    if (!Object.keys(parts).length) { return submit(false); }
    return submit(true, true).then(function (passed) { return passed ? submit(false) : false; });
  }

  /* Check (dryRun) or save; resolves to true when the server accepted the batch.
     ``masterOnly``: leave the part rows out (the check that resolves master keys). */
  function submit(dryRun, masterOnly) {
    closeEditors();
    var collected = collect(dryRun);
    if (masterOnly) {
      collected.body.parts = {};
      Object.keys(collected.refs).forEach(function (list) {
        if (list.indexOf("parts.") === 0) { delete collected.refs[list]; }
      });
    }
    var body = collected.body;
    var count = body.rows.length + (body.updates ? body.updates.length : 0) +
      Object.keys(body.parts).reduce(function (n, k) { return n + body.parts[k].length; }, 0);
    if (!count) {
      status("Nothing to " + (dryRun ? "check" : "save") + ": no new or changed rows.");
      return Promise.resolve(false);
    }
    busy(true);
    closeEditors();
    clearErrors();
    status(dryRun ? "Checking " + count + " rows…" : "Saving " + count + " rows…");
    return api("POST", cfg.rows_url, body).then(function (result) {
      busy(false);
      page.dataset.lastResult = String(result.status);
      var errors = result.data && result.data.errors;
      if (errors && errors.length) {
        showErrors(errors, collected.refs);
        status((dryRun ? "Check" : "Save") + " found " + errors.length + " problem" + (errors.length === 1 ? "" : "s") + "; nothing was written.", "bad");
        return false;
      }
      if (!result.ok) {
        status((dryRun ? "Check" : "Save") + " failed: " + messageOf(result), "bad");
        return false;
      }
      if (dryRun) {
        applyResolved(result.data.resolved || [], collected.refs);
        status("Check passed: " + count + " row" + (count === 1 ? "" : "s") + " ready to save.", "ok");
      } else {
        markSaved(result.data, collected.refs);
      }
      return true;
    });
  }

  /* The dry run's resolved foreign keys (pasted labels -> key values) put into the cells. */
  function applyResolved(resolved, refs) {
    resolved.forEach(function (item) {
      var ref = (refs[item.list] || [])[item.row];
      if (!ref) { return; }
      Object.keys(item.values || {}).forEach(function (name) { ref.data[name] = item.values[name]; });
      if (ref.master) { return; }
      ref.row.update(item.values).then(function () { paintRow(ref.row); });
    });
    refs.rows.forEach(function (ref) { if (ref.data._expanded) { ref.row.reformat(); } });
  }

  /* After a save: inserted rows take their keys and become saved rows; changed rows keep
     their new values as the originals; the batch can be undone. */
  function markSaved(answer, refs) {
    var keys = answer.keys || [];
    refs.rows.forEach(function (ref, i) {
      var values = Object.assign(plain(ref.data, cfg), keys[i] || {});
      var update = Object.assign({}, keys[i] || {}, { _state: "saved", _orig: values, _errors: {} });
      ref.row.update(update).then(function () { ref.row.reformat(); });
    });
    refs.updates.forEach(function (ref) {
      ref.row.update({ _state: "saved", _orig: plain(ref.data, cfg) }).then(function () { ref.row.reformat(); });
    });
    Object.keys(refs).forEach(function (list) {
      if (list.indexOf("parts.") !== 0) { return; }
      refs[list].forEach(function (ref) {
        ref.data._state = "saved";
        ref.data._orig = plain(ref.data, cfg.parts.filter(function (p) { return "parts." + p.part_name === list; })[0]);
      });
    });
    refs.rows.concat(refs.updates).forEach(function (ref) { ref.data._partsLoaded = true; });
    lastBatch = answer.batch || null;
    var undo = document.getElementById("grid-undo");
    if (undo) { undo.disabled = !lastBatch; }
    page.dataset.batch = lastBatch || "";
    var partRows = Object.keys(refs).filter(function (l) { return l.indexOf("parts.") === 0; })
      .reduce(function (n, l) { return n + refs[l].length; }, 0);
    status("Saved: " + (answer.inserted || 0) + " row" + (answer.inserted === 1 ? "" : "s") + " inserted" +
      (partRows ? " (" + partRows + " of them part row" + (partRows === 1 ? "" : "s") + ")" : "") +
      ", " + (answer.updated || 0) + " updated" + (lastBatch ? " (batch " + lastBatch + ")" : "") + ".", "ok");
  }

  // ----------------------------------------------------------------------------------------
  // delete (with a preview of the cascade), duplicate, undo, import
  // ----------------------------------------------------------------------------------------

  function selectedRows(ctx) {
    return ctx.table.getRows().filter(function (row) { return row.getData()._selected; });
  }

  function deleteSelected() {
    var rows = selectedRows(main);
    if (!rows.length) { status("Select rows first (the boxes on the left).", "bad"); return; }
    var unsaved = rows.filter(function (row) { return row.getData()._state === "new"; });
    var saved = rows.filter(function (row) { return row.getData()._state !== "new"; });
    unsaved.forEach(function (row) { row.delete(); });
    if (!saved.length) { status("Removed " + unsaved.length + " unsaved row" + (unsaved.length === 1 ? "" : "s") + "."); return; }
    var keys = saved.map(function (row) { return keyOf(row.getData()._orig, cfg); });
    api("POST", cfg.delete_url, { keys: keys, dry_run: true }).then(function (preview) {
      if (!preview.ok) { status("Cannot delete: " + messageOf(preview), "bad"); return; }
      confirmDelete(preview.data.counts || {}).then(function (ok) {
        if (!ok) { status("Nothing deleted."); return; }
        api("POST", cfg.delete_url, { keys: keys, dry_run: false }).then(function (result) {
          if (!result.ok) { status("Delete failed: " + messageOf(result), "bad"); return; }
          saved.forEach(function (row) { row.delete(); });
          loadedCount -= saved.length;
          // "Undo last save" takes back saves only (the undo service refuses deletions)
          lastBatch = null;
          var undo = document.getElementById("grid-undo");
          if (undo) { undo.disabled = true; }
          page.dataset.batch = "";
          var counts = result.data.counts || {};
          var total = Object.keys(counts).reduce(function (n, t) { return n + counts[t]; }, 0);
          status("Deleted " + total + " row" + (total === 1 ? "" : "s") + " in all (" + describeCounts(counts) + ").", "ok");
        });
      });
    });
  }

  function describeCounts(counts) {
    return Object.keys(counts).map(function (table) { return table + ": " + counts[table]; }).join(", ");
  }

  /* The confirm dialog listing how many rows each table loses; resolves to true/false. */
  function confirmDelete(counts) {
    var dialog = document.getElementById("grid-confirm");
    var bodyEl = document.getElementById("grid-confirm-body");
    bodyEl.textContent = "";
    var intro = document.createElement("p");
    intro.textContent = "These rows will be deleted, with the rows that depend on them:";
    var table = document.createElement("table");
    table.className = "grid-counts";
    Object.keys(counts).forEach(function (name) {
      var tr = document.createElement("tr");
      var th = document.createElement("th");
      var td = document.createElement("td");
      th.textContent = name;
      td.textContent = String(counts[name]);
      tr.appendChild(th);
      tr.appendChild(td);
      table.appendChild(tr);
    });
    bodyEl.appendChild(intro);
    bodyEl.appendChild(table);
    return new Promise(function (resolve) {
      dialog.addEventListener("close", function onClose() {
        dialog.removeEventListener("close", onClose);
        resolve(dialog.returnValue === "ok");
      });
      dialog.returnValue = "";
      dialog.showModal();
      document.getElementById("grid-confirm-cancel").focus();
    });
  }

  function duplicate() {
    var ctx = (lastFocus && lastFocus.ctx && grids.has(lastFocus.ctx.element)) ? lastFocus.ctx : main;
    var rows = selectedRows(ctx);
    var source = rows.length ? rows[rows.length - 1] : (lastFocus && lastFocus.ctx === ctx ? lastFocus.row : null);
    if (!source) { status("Select a row (or click one of its cells) to duplicate it.", "bad"); return; }
    var values = {};
    var data = source.getData();
    ctx.spec.columns.forEach(function (col) {
      if (!col.read_only && !col.autoincrement && ctx.spec.inherited.indexOf(col.name) < 0) { values[col.name] = isEmpty(data[col.name]) ? "" : data[col.name]; }
    });
    // the part rows shown under a master row come along, as new part rows
    if (!ctx.master) {
      values._parts = {};
      Object.keys(data._parts || {}).forEach(function (name) {
        values._parts[name] = data._parts[name].map(function (partData) {
          return Object.assign({}, partData, { _id: ++seq, _state: "new", _errors: {}, _orig: undefined });
        });
      });
    }
    addRow(ctx, true, values).then(function () {
      status("Duplicated a row: change its primary key, then Check and Save.");
    });
  }

  function undoLast() {
    if (!lastBatch) { return; }
    var url = cfg.undo_url.replace("{batch}", encodeURIComponent(lastBatch));
    api("POST", url, {}).then(function (result) {
      if (!result.ok) {
        status("Cannot undo: " + messageOf(result), "bad");
        return;
      }
      lastBatch = null;
      page.dataset.batch = "";
      document.getElementById("grid-undo").disabled = true;
      status("Undone batch " + result.data.undone + ": " + (result.data.deleted || 0) + " row(s) removed, " + (result.data.restored || 0) + " restored.", "ok");
      reload();
    });
  }

  /* A CSV or TSV file (Papa Parse guesses the delimiter): appended as new rows, through
     the same path as a paste (columns by name when the first line names attributes). */
  function importFile(file) {
    Papa.parse(file, {
      skipEmptyLines: "greedy",
      complete: function (parsed) {
        pasteRows(main, parsed.data, null, null).then(function (n) {
          status("Imported " + n + " line" + (n === 1 ? "" : "s") + " of " + file.name + ": Check, then Save.");
        });
      },
      error: function (error) { status("Cannot read " + file.name + ": " + error, "bad"); },
    });
  }

  // ----------------------------------------------------------------------------------------
  // start
  // ----------------------------------------------------------------------------------------

  main = makeGrid(document.getElementById("grid"), cfg, null, { height: "65vh" });
  main.table.on("tableBuilt", function () {
    loadPage();
    // progressive loading: the next keyset page when one of the last 50 loaded rows is in
    // view (the virtual DOM grows scrollHeight as it renders, so positions are compared)
    main.table.on("scrollVertical", function () {
      if (loading || cursor === null) { return; }
      var visible = main.table.getRows("visible");
      var last = visible.length ? visible[visible.length - 1].getPosition() : 0;
      if (last >= loadedCount - 50) { loadPage(); }
    });
  });

  document.getElementById("grid-add").addEventListener("click", function () { addRow(main, true); });
  document.getElementById("grid-duplicate").addEventListener("click", duplicate);
  document.getElementById("grid-check").addEventListener("click", function () { submit(true); });
  document.getElementById("grid-save").addEventListener("click", save);
  var deleteButton = document.getElementById("grid-delete");
  if (deleteButton) { deleteButton.addEventListener("click", deleteSelected); }
  var undoButton = document.getElementById("grid-undo");
  if (undoButton) { undoButton.addEventListener("click", undoLast); }
  var importInput = document.getElementById("grid-import");
  importInput.addEventListener("change", function () {
    if (importInput.files.length) { importFile(importInput.files[0]); }
    importInput.value = "";
  });

  /* Enter in an open editor (not a textarea, not a picker choosing a parent): the value
     commits and the same attribute of the next row is edited, as in a spreadsheet. */
  function enterMovesDown(e) {
    var target = e.target;
    if (!target.matches || !target.matches("input") || target.getAttribute("aria-activedescendant")) { return; }
    if (!target.closest(".tabulator-cell.tabulator-editing")) { return; }
    var anchor = anchorOf(target);
    if (!anchor || !anchor.row || !anchor.field) { return; }
    var rows = anchor.ctx.table.getRows("active");
    var next = rows[rows.indexOf(anchor.row) + 1];
    var col = anchor.ctx.spec.columns.filter(function (c) { return c.name === anchor.field; })[0];
    if (!next || !col) { return; }
    setTimeout(function () {
      if (editable(anchor.ctx, col, next.getData())) { next.getCell(anchor.field).edit(true); }
    }, 0);
  }

  // Ctrl+Enter (Cmd+Enter) in a grid adds a row to that grid; the open editor commits
  // first. Ctrl+S on the page saves.
  document.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.ctrlKey && !e.metaKey && !e.shiftKey && !e.altKey) {
      enterMovesDown(e);
      return;
    }
    if ((e.key === "s" || e.key === "S") && (e.ctrlKey || e.metaKey) && !e.shiftKey && !e.altKey) {
      e.preventDefault();
      setTimeout(save, 0);
      return;
    }
    if (e.key !== "Enter" || !(e.ctrlKey || e.metaKey)) { return; }
    // an editor closed by Enter leaves the focus on the body: the grid last used then
    var ctx = ctxOf(e.target);
    if (!ctx && (e.target === document.body || page.contains(e.target))) {
      ctx = lastFocus && grids.has(lastFocus.ctx.element) ? lastFocus.ctx : main;
    }
    if (!ctx) { return; }
    setTimeout(function () { addRow(ctx, true); }, 0);
  }, true);
})();
