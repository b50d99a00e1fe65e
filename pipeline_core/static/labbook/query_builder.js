/* The query builder of /query/ (query.html): edits a JSON query description and navigates
   to /query/?q=<token>, where the server runs it. There is one query engine, the server's:
   this file only edits the description and asks the server what it means.

   Data (json_script "query-builder-data"): {description, errors, tables, context, urls}.
     description  the description shown (null: none yet); its "after" (the page) is dropped
     errors       [{path, message, kind}] of the last run, placed beside the widget whose
                  data-path is the longest prefix of the error's path
     tables       [{schema, tables: [{table, class_name, tier}]}]: where a query may start
     context      {queries: {qpath: {input, projected, over, result}}, offers: {qpath:
                  {join, matching, aggr}}, error}: headings per stage and the tables the
                  dependency graph offers, for the top query ("") and each union[i];
                  refreshed from urls.context?q=<token> after every structural change
   Token: compact JSON -> CompressionStream("deflate-raw") -> base64url without padding
   (pipeline_core/querystate.py decodes it; plain JSON starting with "{" is accepted too).

   A where clause is edited as a tree of models: group {kind: "group", op: "and"|"or",
   negated, items}, comparison {kind: "cmp", attribute, op, value, negated} (op also
   "contains" / "starts with", written as "like" with % and _ escaped) and matching
   {kind: "match", source, negated} (semijoin; negated: antijoin). Serialising the models
   gives every node the path it has in the description (node.path), which the widgets carry
   as data-path. No inline script: the page has a Content-Security-Policy. */
(function () {
  "use strict";

  var dataEl = document.getElementById("query-builder-data");
  var root = document.getElementById("builder");
  if (!dataEl || !root) { return; }
  var cfg = JSON.parse(dataEl.textContent);
  var form = document.getElementById("query-form");
  var jsonArea = document.getElementById("q-json");
  var statusEl = document.getElementById("builder-status");

  var state = cfg.description ? clone(cfg.description) : null;
  if (state) { delete state.after; }
  var context = cfg.context || { queries: {}, offers: {}, error: null };
  var errors = cfg.errors || [];
  var models = new WeakMap();   // query object -> root group model of its where
  var jsonEdited = false;
  var refreshSeq = 0;
  var KEYS = ["from", "join", "where", "proj", "aggr", "group", "union", "order", "limit"];

  var OPS = [
    ["=", "="], ["!=", "≠"], ["<", "<"], ["<=", "≤"], [">", ">"], [">=", "≥"],
    ["between", "between"], ["in", "in list"], ["not in", "not in list"],
    ["contains", "contains"], ["starts with", "starts with"], ["like", "like (pattern)"],
    ["is null", "is null"], ["is not null", "is not null"]
  ];
  var FUNCTIONS = [["count", "count"], ["sum", "sum"], ["avg", "average"], ["min", "min"], ["max", "max"]];
  var COMPUTE = {
    "+": [2, 2], "-": [2, 2], "*": [2, 2], "/": [2, 2], abs: [1, 1], round: [1, 2],
    floor: [1, 1], ceil: [1, 1], lower: [1, 1], upper: [1, 1], length: [1, 1],
    concat: [2, 9], coalesce: [2, 9], year: [1, 1], month: [1, 1], day: [1, 1]
  };

  // ------------------------------------------------------------------------------------------
  // small helpers
  // ------------------------------------------------------------------------------------------

  function clone(value) { return JSON.parse(JSON.stringify(value)); }

  function at(path, key) { return path ? path + "." + key : String(key); }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) { return; }
      if (name === "text") { node.textContent = value; }
      else if (name.slice(0, 2) === "on") { node.addEventListener(name.slice(2), value); }
      else if (value === true) { node.setAttribute(name, ""); }
      else { node.setAttribute(name, value); }
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === false) { return; }
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function select(options, current, onchange, attrs) {
    // options: [[value, label, {group}]]; current kept (marked) when it is not among them
    var node = el("select", attrs || {});
    var groups = {};
    var found = false;
    options.forEach(function (opt) {
      var option = el("option", { value: opt[0], text: opt[1] });
      if (opt[0] === current) { option.selected = true; found = true; }
      var group = opt[2];
      if (group) {
        if (!groups[group]) { groups[group] = el("optgroup", { label: group }); node.appendChild(groups[group]); }
        groups[group].appendChild(option);
      } else {
        node.appendChild(option);
      }
    });
    if (!found && current !== undefined && current !== null && current !== "") {
      var unknown = el("option", { value: current, text: current + " (unknown)" });
      unknown.selected = true;
      node.insertBefore(unknown, node.firstChild);
    }
    node.addEventListener("change", function () { onchange(node.value); });
    return node;
  }

  function button(text, onclick, attrs) {
    var node = el("button", Object.assign({ type: "button", text: text }, attrs || {}));
    node.addEventListener("click", function (event) { event.preventDefault(); onclick(); });
    return node;
  }

  function removeButton(label, onclick, key) {
    return button("×", onclick, { class: "remove", title: "remove " + label, "aria-label": "remove " + label, "data-key": key });
  }

  function setStatus(text) { if (statusEl) { statusEl.textContent = text; } }

  function isTable(source) { return source && typeof source === "object" && !("from" in source); }

  function tableKey(source) { return JSON.stringify([source.schema, source.table]); }

  function tableLabel(source) {
    if (!isTable(source)) { return "(a nested query)"; }
    var name = source.table;
    (cfg.tables || []).forEach(function (schema) {
      if (schema.schema !== source.schema) { return; }
      schema.tables.forEach(function (t) { if (t.table === source.table || t.class_name === source.table) { name = t.class_name; } });
    });
    return name + " (" + source.schema + ")";
  }

  function tableOptions() {
    var options = [];
    (cfg.tables || []).forEach(function (schema) {
      schema.tables.forEach(function (t) {
        options.push([JSON.stringify([schema.schema, t.table]), t.class_name + (t.tier ? " · " + t.tier : ""), schema.schema]);
      });
    });
    return options;
  }

  function sourceOf(key) { var pair = JSON.parse(key); return { schema: pair[0], table: pair[1] }; }

  function heading(qpath, stage) {
    var q = (context.queries || {})[qpath];
    return (q && q[stage]) || [];
  }

  function attrInfo(list, name) {
    for (var i = 0; i < list.length; i++) { if (list[i].name === name) { return list[i]; } }
    return null;
  }

  function offers(qpath, kind) {
    var o = (context.offers || {})[qpath];
    return (o && o[kind]) || [];
  }

  // ------------------------------------------------------------------------------------------
  // conditions: description <-> models
  // ------------------------------------------------------------------------------------------

  function escapeLike(text) { return String(text).replace(/[\\%_]/g, "\\$&"); }
  function unescapeLike(text) { return text.replace(/\\(.)/g, "$1"); }

  function toModel(condition) {
    if (!condition) { return { kind: "group", op: "and", negated: false, items: [] }; }
    if (condition.and || condition.or) {
      var op = condition.and ? "and" : "or";
      return { kind: "group", op: op, negated: false, items: condition[op].map(toModel) };
    }
    if (condition.not) {
      var inner = toModel(condition.not);
      inner.negated = !inner.negated;
      return inner;
    }
    if (condition.matching) { return { kind: "match", source: condition.matching, negated: false }; }
    var model = { kind: "cmp", attribute: condition.attribute, op: condition.operator, value: condition.value, negated: false };
    if (model.op === "like" && typeof model.value === "string") {
      var m = /^%((?:[^%_\\]|\\.)*)%$/.exec(model.value);
      if (m) { model.op = "contains"; model.value = unescapeLike(m[1]); }
      else if ((m = /^((?:[^%_\\]|\\.)*)%$/.exec(model.value))) { model.op = "starts with"; model.value = unescapeLike(m[1]); }
    }
    return model;
  }

  function rootModel(q) {
    if (!models.has(q)) {
      var model = toModel(q.where);
      if (model.kind !== "group") { model = { kind: "group", op: "and", negated: false, items: [model] }; }
      models.set(q, model);
    }
    return models.get(q);
  }

  function fromModel(model, path) {
    // the condition of a model (undefined: no condition); sets model.path
    var inner;
    var innerPath = model.negated ? at(path, "not") : path;
    model.path = innerPath;
    if (model.kind === "group") {
      var items = model.items.filter(function (item) { return !(item.kind === "group" && !item.items.length); });
      model.items.filter(function (item) { return item.kind === "group" && !item.items.length; })
        .forEach(function (item) { item.path = null; });
      if (!items.length) { model.path = path; return undefined; }
      if (items.length === 1 && !model.negated) {
        model.path = path;
        return fromModel(items[0], path);
      }
      var key = model.op;
      inner = {};
      inner[key] = items.map(function (item, i) { return fromModel(item, at(innerPath, key) + "[" + i + "]"); });
    } else if (model.kind === "match") {
      inner = { matching: model.source };
    } else {
      inner = { attribute: model.attribute, operator: model.op };
      if (model.op === "contains") { inner.operator = "like"; inner.value = "%" + escapeLike(model.value || "") + "%"; }
      else if (model.op === "starts with") { inner.operator = "like"; inner.value = escapeLike(model.value || "") + "%"; }
      else if (model.op !== "is null" && model.op !== "is not null") { inner.value = model.value === undefined ? "" : model.value; }
    }
    return model.negated ? { not: inner } : inner;
  }

  // ------------------------------------------------------------------------------------------
  // the description
  // ------------------------------------------------------------------------------------------

  function serialise(q, qpath) {
    var out = {};
    var where = fromModel(rootModel(q), at(qpath, "where"));
    KEYS.forEach(function (key) {
      if (key === "where") { if (where !== undefined) { out.where = where; } return; }
      if (!(key in q) || q[key] === undefined || q[key] === null) { return; }
      if (key === "union") {
        if (!q.union.length) { return; }
        out.union = q.union.map(function (item, i) {
          return "from" in item ? serialise(item, "union[" + i + "]") : item;
        });
        return;
      }
      if (key === "join" && !q.join.length) { return; }
      if (key === "order" && !q.order.length) { return; }
      out[key] = clone(q[key]);
    });
    Object.keys(q).forEach(function (key) {  // keys the builder does not know stay as they are
      if (KEYS.indexOf(key) < 0 && key !== "after") { out[key] = clone(q[key]); }
    });
    return out;
  }

  function description() { return state ? serialise(state, "") : null; }

  function encode(value) {
    var text = JSON.stringify(value);
    if (typeof CompressionStream === "undefined") { return Promise.resolve(encodeURIComponent(text)); }
    var stream = new Blob([new TextEncoder().encode(text)]).stream()
      .pipeThrough(new CompressionStream("deflate-raw"));
    return new Response(stream).arrayBuffer().then(function (buffer) {
      var bytes = new Uint8Array(buffer);
      var binary = "";
      for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
      return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    });
  }

  // ------------------------------------------------------------------------------------------
  // changes
  // ------------------------------------------------------------------------------------------

  var pending = null;

  function changed(how) {
    // how: undefined (a value: the JSON and tokens now, the server's check after a pause in
    // typing), "render" (redraw, then check), "refresh" (redraw, then ask the server for
    // headings, offers and the check)
    if (how) { render(); } else { description(); }
    showJson();
    syncTokens();
    if (pending) { clearTimeout(pending); pending = null; }
    if (how === "refresh") { refresh(); return; }
    root.setAttribute("data-busy", "true");
    pending = setTimeout(function () { pending = null; refresh(); }, how ? 50 : 600);
  }

  function showJson() {
    if (jsonArea && !jsonEdited) {
      var d = description();
      jsonArea.value = d ? JSON.stringify(d, null, 2) : "";
    }
  }

  function syncTokens() {
    var d = description();
    var inputs = document.querySelectorAll('input[data-sync="token"]');
    if (!d || !inputs.length) { return; }
    encode(d).then(function (token) {
      inputs.forEach(function (input) { input.value = token; });
    });
  }

  function refresh() {
    var d = description();
    var seq = ++refreshSeq;
    if (!d) { root.removeAttribute("data-busy"); return; }
    setStatus("Checking…");
    root.setAttribute("data-busy", "true");
    encode(d).then(function (token) {
      return fetch(cfg.urls.context + "?q=" + token, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    }).then(function (response) {
      return response.json();
    }).then(function (data) {
      if (seq !== refreshSeq) { return; }
      root.removeAttribute("data-busy");
      if (data.queries) {
        context = data;
        errors = data.error ? [Object.assign({ kind: "description" }, data.error)] : [];
      } else if (data.error) {
        errors = [data.error];
      }
      setStatus("");
      render();
    }).catch(function () {
      if (seq === refreshSeq) {
        root.removeAttribute("data-busy");
        setStatus("Could not reach the server to check the query.");
      }
    });
  }

  // ------------------------------------------------------------------------------------------
  // rendering
  // ------------------------------------------------------------------------------------------

  function render() {
    var focused = document.activeElement && root.contains(document.activeElement)
      ? document.activeElement.getAttribute("data-key") : null;
    description();  // assigns the paths of the condition models
    root.textContent = "";
    if (!state) {
      root.appendChild(el("div", { class: "q-section", "data-path": "from" }, [
        el("label", { for: "q-from", text: "Start from " }),
        select([["", "— choose a table —"]].concat(tableOptions()), "", function (value) {
          if (!value) { return; }
          state = { from: sourceOf(value) };
          changed("refresh");
        }, { id: "q-from", "data-key": "from" })
      ]));
    } else {
      root.appendChild(renderQuery(state, "", false));
    }
    placeErrors();
    if (focused) {
      var again = root.querySelector('[data-key="' + CSS.escape(focused) + '"]');
      if (again) {
        again.focus();
        try { again.setSelectionRange(again.value.length, again.value.length); } catch (e) { /* not text */ }
      }
    }
  }

  function section(title, path, children, extra) {
    var attrs = Object.assign({ class: "q-section", "data-path": path }, extra || {});
    return el("fieldset", attrs, [el("legend", { text: title })].concat(children));
  }

  function renderQuery(q, qpath, mini) {
    var box = el("div", { class: "q-query" + (mini ? " q-mini" : ""), "data-path": qpath });
    box.appendChild(renderFrom(q, qpath));
    if (!mini) { box.appendChild(renderJoins(q, qpath)); }
    box.appendChild(section("Restrict", at(qpath, "where"), [renderGroup(rootModel(q), q, qpath, true)]));
    box.appendChild(renderProj(q, qpath, mini));
    if (!mini) {
      box.appendChild(renderAggr(q, qpath));
      box.appendChild(renderUnion(q));
      box.appendChild(renderOrder(q));
    }
    return box;
  }

  // --- from and joins ------------------------------------------------------------------------

  function renderFrom(q, qpath) {
    var path = at(qpath, "from");
    var children = [];
    if (isTable(q.from)) {
      children.push(select(tableOptions(), tableKey(q.from), function (value) {
        var fresh = { from: sourceOf(value) };
        if (!qpath && state.limit) { fresh.limit = state.limit; }
        if (qpath) { fresh.proj = {}; }
        models.delete(q);
        Object.keys(q).forEach(function (key) { delete q[key]; });
        Object.assign(q, fresh);
        changed("refresh");
      }, { "aria-label": "table to start from", "data-key": path, class: "q-from" }));
    } else {
      children.push(el("code", { class: "q-nested", text: JSON.stringify(q.from) }));
    }
    return section(qpath ? "Rows of" : "From", path, children);
  }

  function renderJoins(q, qpath) {
    var path = at(qpath, "join");
    var children = [];
    var list = el("ul", { class: "q-joins" });
    (q.join || []).forEach(function (item, i) {
      var itemPath = path + "[" + i + "]";
      list.appendChild(el("li", { "data-path": itemPath }, [
        el("span", { class: "q-table", text: tableLabel(item) }),
        removeButton("join " + tableLabel(item), function () {
          q.join.splice(i, 1);
          if (!q.join.length) { delete q.join; }
          changed("refresh");
        }, itemPath + ":remove")
      ]));
    });
    if (list.childNodes.length) { children.push(list); }
    var offered = offers(qpath, "join");
    if (offered.length) {
      children.push(select([["", "+ join a related table…"]].concat(offered.map(function (o) {
        return [tableKey(o), o.class_name + " (" + o.relation + (o.schema !== (q.from || {}).schema ? ", " + o.schema : "") + ")"];
      })), "", function (value) {
        if (!value) { return; }
        q.join = (q.join || []).concat([sourceOf(value)]);
        changed("refresh");
      }, { "aria-label": "join a table", "data-key": path + ":add", class: "q-add-join" }));
    } else if (!list.childNodes.length) {
      children.push(el("p", { class: "hint", text: "No related table to join (along foreign keys)." }));
    }
    return section("Join", path, children);
  }

  // --- restrictions ----------------------------------------------------------------------------

  function renderGroup(group, q, qpath, top) {
    var input = heading(qpath, "input");
    var box = el("div", { class: "q-group" + (top ? " q-top-group" : ""), "data-path": group.path || at(qpath, "where") });
    var head = el("div", { class: "q-group-head" }, [
      el("label", { class: "q-not" }, [
        el("input", { type: "checkbox", checked: group.negated, "data-key": (group.path || qpath) + ":not", onchange: function (e) { group.negated = e.target.checked; changed("render"); } }),
        " not"
      ]),
      select([["and", "all of"], ["or", "any of"]], group.op, function (value) { group.op = value; changed("render"); },
        { "aria-label": "combine with", "data-key": (group.path || qpath) + ":op", class: "q-op" }),
      el("span", { class: "hint", text: group.items.length ? "these conditions" : "(no condition: every row)" })
    ]);
    box.appendChild(head);
    var list = el("ul", { class: "q-conditions" });
    group.items.forEach(function (item, i) {
      var li = el("li", {}, [
        item.kind === "group" ? renderGroup(item, q, qpath, false)
          : item.kind === "match" ? renderMatch(item, q, qpath) : renderComparison(item, input),
        removeButton("condition", function () { group.items.splice(i, 1); changed("render"); }, (item.path || "") + ":remove:" + i)
      ]);
      list.appendChild(li);
    });
    box.appendChild(list);
    var adds = el("div", { class: "q-adds" }, [
      button("+ condition", function () {
        var first = input.filter(function (a) { return a.comparable; })[0];
        group.items.push({ kind: "cmp", attribute: first ? first.name : "", op: "=", value: "", negated: false });
        changed("render");
      }, { class: "q-add-condition", "data-key": (group.path || qpath) + ":add" }),
      button("+ group", function () {
        group.items.push({ kind: "group", op: group.op === "and" ? "or" : "and", negated: false, items: [] });
        changed("render");
      }, { class: "q-add-group", "data-key": (group.path || qpath) + ":group" })
    ]);
    var matching = offers(qpath, "matching");
    if (matching.length) {
      adds.appendChild(button("+ matching table", function () {
        var o = matching[0];
        group.items.push({ kind: "match", source: { schema: o.schema, table: o.table }, negated: false });
        changed("refresh");
      }, { class: "q-add-match", "data-key": (group.path || qpath) + ":match" }));
    }
    box.appendChild(adds);
    return box;
  }

  function renderMatch(item, q, qpath) {
    var path = item.path || "";
    var matching = offers(qpath, "matching");
    var options = matching.map(function (o) { return [tableKey(o), o.class_name + " (" + o.schema + ")"]; });
    var children = [
      select([["with", "with"], ["without", "without"]], item.negated ? "without" : "with", function (value) {
        item.negated = value === "without";
        changed("render");
      }, { "aria-label": "with or without", "data-key": path + ":neg", class: "q-match-neg" }),
      " matching rows in "
    ];
    if (isTable(item.source)) {
      children.push(select(options, tableKey(item.source), function (value) {
        item.source = sourceOf(value);
        changed("refresh");
      }, { "aria-label": "table to match", "data-key": path + ":table", class: "q-match-table", "data-path": at(path, "matching") }));
    } else {
      children.push(el("code", { class: "q-nested", text: JSON.stringify(item.source) }));
    }
    return el("div", { class: "q-match", "data-path": path }, children);
  }

  function opsFor(info) {
    if (!info) { return OPS; }
    var f = info.family;
    var ordered = ["integer", "float", "decimal", "date", "datetime", "text", "expression"].indexOf(f) >= 0 && !info.enum;
    var text = (f === "text" && !info.enum) || f === "expression";
    return OPS.filter(function (op) {
      var name = op[0];
      if (["<", "<=", ">", ">=", "between"].indexOf(name) >= 0) { return ordered; }
      if (["contains", "starts with", "like"].indexOf(name) >= 0) { return text; }
      return true;
    });
  }

  function parseValue(info, text) {
    var family = info ? info.family : "text";
    if (family === "integer" || family === "float" || family === "expression") {
      var n = Number(text);
      return String(text).trim() !== "" && isFinite(n) ? n : text;
    }
    if (family === "bool") { return text === "true" || text === true; }
    if (family === "datetime") { return String(text).replace("T", " "); }
    return text;
  }

  function inputFor(info, value, onchange, attrs) {
    var family = info ? info.family : "text";
    var shown = value === undefined || value === null ? "" : String(value);
    if (info && info.enum) {
      return select([["", "—"]].concat(info.enum.map(function (v) { return [v, v]; })), shown, onchange, attrs);
    }
    if (family === "bool") {
      return select([["true", "true"], ["false", "false"]], shown === "" ? "true" : shown, function (v) { onchange(v); }, attrs);
    }
    var type = { integer: "number", float: "number", date: "date", datetime: "datetime-local" }[family] || "text";
    if (type === "datetime-local") { shown = shown.replace(" ", "T"); }
    var input = el("input", Object.assign({ type: type, value: shown, step: type === "number" ? "any" : (type === "datetime-local" ? "1" : null) }, attrs || {}));
    input.addEventListener("input", function () { onchange(input.value); });
    return input;
  }

  function renderComparison(cmp, input) {
    var path = cmp.path || "";
    var info = attrInfo(input, cmp.attribute);
    var attrs = input.filter(function (a) { return a.comparable; }).map(function (a) { return [a.name, a.name + (a.in_key ? " (key)" : "")]; });
    var box = el("div", { class: "q-cmp", "data-path": path }, [
      el("label", { class: "q-not" }, [
        el("input", { type: "checkbox", checked: cmp.negated, "data-key": path + ":not", onchange: function (e) { cmp.negated = e.target.checked; changed("render"); } }),
        " not"
      ]),
      el("span", { "data-path": at(path, "attribute") }, [select(attrs, cmp.attribute, function (value) {
        cmp.attribute = value;
        var ops = opsFor(attrInfo(input, value)).map(function (o) { return o[0]; });
        if (ops.indexOf(cmp.op) < 0) { cmp.op = "="; }
        cmp.value = "";
        changed("render");
      }, { "aria-label": "attribute", "data-key": path + ":attribute", class: "q-attribute" })]),
      el("span", { "data-path": at(path, "operator") }, [select(opsFor(info), cmp.op, function (value) {
        var wasList = ["in", "not in", "between"].indexOf(cmp.op) >= 0;
        var isList = ["in", "not in", "between"].indexOf(value) >= 0;
        cmp.op = value;
        if (wasList !== isList) { cmp.value = isList ? [] : ""; }
        changed("render");
      }, { "aria-label": "operator", "data-key": path + ":operator", class: "q-operator" })])
    ]);
    var valueBox = el("span", { class: "q-value", "data-path": at(path, "value") });
    var key = path + ":value";
    if (cmp.op === "between") {
      var pair = Array.isArray(cmp.value) ? cmp.value : [];
      [0, 1].forEach(function (i) {
        valueBox.appendChild(inputFor(info, pair[i], function (v) {
          var next = Array.isArray(cmp.value) ? cmp.value.slice() : [];
          next[i] = parseValue(info, v);
          cmp.value = [next[0] === undefined ? "" : next[0], next[1] === undefined ? "" : next[1]];
          changed();
        }, { "aria-label": i ? "high" : "low", "data-key": key + i }));
        if (!i) { valueBox.appendChild(document.createTextNode(" and ")); }
      });
    } else if (cmp.op === "in" || cmp.op === "not in") {
      var list = Array.isArray(cmp.value) ? cmp.value : [];
      if (info && info.enum) {
        var multi = el("select", { multiple: true, "aria-label": "values", "data-key": key, size: Math.min(6, info.enum.length) });
        info.enum.forEach(function (v) { multi.appendChild(el("option", { value: v, text: v, selected: list.indexOf(v) >= 0 })); });
        multi.addEventListener("change", function () {
          cmp.value = Array.prototype.filter.call(multi.options, function (o) { return o.selected; }).map(function (o) { return o.value; });
          changed();
        });
        valueBox.appendChild(multi);
      } else {
        var text = el("input", { type: "text", value: list.join(", "), "aria-label": "values, separated by commas", placeholder: "a, b, c", "data-key": key });
        text.addEventListener("input", function () {
          cmp.value = text.value.split(",").map(function (v) { return v.trim(); }).filter(function (v) { return v !== ""; })
            .map(function (v) { return parseValue(info, v); });
          changed();
        });
        valueBox.appendChild(text);
      }
    } else if (cmp.op !== "is null" && cmp.op !== "is not null") {
      var plain = ["contains", "starts with", "like"].indexOf(cmp.op) >= 0;
      valueBox.appendChild(inputFor(plain ? null : info, cmp.value, function (v) {
        cmp.value = plain ? v : parseValue(info, v);
        changed();
      }, { "aria-label": "value", "data-key": key }));
    }
    box.appendChild(valueBox);
    return box;
  }

  // --- projection ------------------------------------------------------------------------------

  function renderProj(q, qpath, mini) {
    var path = at(qpath, "proj");
    var input = heading(qpath, "input");
    var on = !!q.proj;
    var children = [el("label", {}, [
      el("input", { type: "checkbox", checked: on, class: "q-proj-on", "data-key": path + ":on", onchange: function (e) {
        if (e.target.checked) { q.proj = {}; } else { delete q.proj; }
        changed("refresh");
      } }),
      mini ? " only the primary key and these attributes" : " choose, rename and compute attributes"
    ])];
    if (on) {
      var keep = q.proj.keep || [];
      var keepBox = el("div", { class: "q-keep", "data-path": at(path, "keep") }, [el("span", { class: "hint", text: "Keep: " })]);
      input.forEach(function (a) {
        keepBox.appendChild(el("label", { class: "q-check" }, [
          el("input", { type: "checkbox", checked: a.in_key || keep.indexOf(a.name) >= 0, disabled: a.in_key, "data-key": path + ":keep:" + a.name, onchange: function (e) {
            var now = (q.proj.keep || []).filter(function (n) { return n !== a.name; });
            if (e.target.checked) { now.push(a.name); }
            if (now.length) { q.proj.keep = now; } else { delete q.proj.keep; }
            changed("refresh");
          } }),
          " " + a.name
        ]));
      });
      children.push(keepBox);
      if (!mini) {
        children.push(renderRenames(q, path, input));
        children.push(renderComputed(q, path, input));
      }
    }
    return section("Attributes", path, children);
  }

  function rebuild(object, oldKey, newKey, value) {
    var out = {};
    Object.keys(object).forEach(function (key) {
      if (key === oldKey) { if (newKey) { out[newKey] = value; } } else { out[key] = object[key]; }
    });
    return out;
  }

  function nameInput(current, onchange, attrs) {
    var input = el("input", Object.assign({ type: "text", value: current, size: 12, pattern: "[a-z][a-z0-9_]*", title: "lower-case letters, digits and _" }, attrs));
    input.addEventListener("change", function () { onchange(input.value.trim()); });
    return input;
  }

  function freeName(object, base) {
    var name = base;
    for (var i = 2; object && name in object; i++) { name = base + i; }
    return name;
  }

  function renderRenames(q, path, input) {
    var rename = q.proj.rename || {};
    var box = el("div", { class: "q-renames", "data-path": at(path, "rename") });
    var attrs = input.map(function (a) { return [a.name, a.name]; });
    Object.keys(rename).forEach(function (name) {
      var rowPath = at(at(path, "rename"), name);
      box.appendChild(el("div", { class: "q-row", "data-path": rowPath }, [
        nameInput(name, function (value) { q.proj.rename = rebuild(q.proj.rename, name, value || name, rename[name]); changed("refresh"); },
          { "aria-label": "new name", "data-key": rowPath + ":name" }),
        " ← ",
        select(attrs, rename[name], function (value) { q.proj.rename[name] = value; changed("refresh"); }, { "aria-label": "renamed attribute", "data-key": rowPath + ":source" }),
        removeButton("rename", function () {
          delete q.proj.rename[name];
          if (!Object.keys(q.proj.rename).length) { delete q.proj.rename; }
          changed("refresh");
        }, rowPath + ":remove")
      ]));
    });
    box.appendChild(button("+ rename", function () {
      var first = input.filter(function (a) { return !a.in_key; })[0] || input[0];
      if (!first) { return; }
      q.proj.rename = Object.assign({}, q.proj.rename || {});
      q.proj.rename[freeName(q.proj.rename, "renamed")] = first.name;
      changed("refresh");
    }, { class: "q-add-rename", "data-key": path + ":rename" }));
    return box;
  }

  function renderComputed(q, path, input) {
    var compute = q.proj.compute || {};
    var box = el("div", { class: "q-computed", "data-path": at(path, "compute") });
    Object.keys(compute).forEach(function (name) {
      var spec = compute[name];
      var rowPath = at(at(path, "compute"), name);
      var row = el("div", { class: "q-row", "data-path": rowPath }, [
        nameInput(name, function (value) { q.proj.compute = rebuild(q.proj.compute, name, value || name, spec); changed("refresh"); },
          { "aria-label": "computed attribute name", "data-key": rowPath + ":name" }),
        " = "
      ]);
      if (spec.function && COMPUTE[spec.function]) {
        row.appendChild(el("span", { "data-path": at(rowPath, "function") }, [select(Object.keys(COMPUTE).map(function (f) { return [f, f]; }), spec.function, function (value) {
          spec.function = value;
          var arity = COMPUTE[value];
          while (spec.args.length < arity[0]) { spec.args.push(spec.args[0] ? clone(spec.args[0]) : { value: 0 }); }
          if (spec.args.length > arity[1]) { spec.args = spec.args.slice(0, arity[1]); }
          changed("refresh");
        }, { "aria-label": "function", "data-key": rowPath + ":function" })]));
        row.appendChild(document.createTextNode(" ( "));
        spec.args.forEach(function (arg, i) {
          row.appendChild(renderArgument(spec, i, at(rowPath, "args") + "[" + i + "]", input));
          if (i < spec.args.length - 1) { row.appendChild(document.createTextNode(", ")); }
        });
        var arity = COMPUTE[spec.function];
        if (spec.args.length < arity[1]) {
          row.appendChild(button("+", function () { spec.args.push({ value: 0 }); changed("refresh"); }, { title: "add an argument", "data-key": rowPath + ":arg" }));
        }
        if (spec.args.length > arity[0]) {
          row.appendChild(button("−", function () { spec.args.pop(); changed("refresh"); }, { title: "remove the last argument", "data-key": rowPath + ":unarg" }));
        }
        row.appendChild(document.createTextNode(" )"));
      } else {
        row.appendChild(el("code", { class: "q-nested", text: JSON.stringify(spec) }));
      }
      row.appendChild(removeButton("computed attribute", function () {
        delete q.proj.compute[name];
        if (!Object.keys(q.proj.compute).length) { delete q.proj.compute; }
        changed("refresh");
      }, rowPath + ":remove"));
      box.appendChild(row);
    });
    box.appendChild(button("+ computed attribute", function () {
      var number = input.filter(function (a) { return ["integer", "float", "decimal"].indexOf(a.family) >= 0; })[0];
      q.proj.compute = Object.assign({}, q.proj.compute || {});
      q.proj.compute[freeName(q.proj.compute, "computed")] = number
        ? { function: "*", args: [{ attribute: number.name }, { value: 1 }] }
        : { function: "length", args: [{ attribute: (input[0] || {}).name || "" }] };
      changed("refresh");
    }, { class: "q-add-computed", "data-key": path + ":compute" }));
    return box;
  }

  function renderArgument(spec, i, path, input) {
    var arg = spec.args[i];
    if (arg.function) { return el("code", { class: "q-nested", "data-path": path, text: JSON.stringify(arg) }); }
    var choice = "attribute" in arg ? arg.attribute : "#number";
    var options = input.filter(function (a) { return a.comparable; }).map(function (a) { return [a.name, a.name]; });
    options.push(["#number", "a number…"]);
    var box = el("span", { class: "q-arg", "data-path": path }, [select(options, choice, function (value) {
      spec.args[i] = value === "#number" ? { value: 0 } : { attribute: value };
      changed("refresh");
    }, { "aria-label": "argument " + (i + 1), "data-key": path + ":choice" })]);
    if (!("attribute" in arg)) {
      var number = el("input", { type: "number", step: "any", value: arg.value, size: 6, "aria-label": "number", "data-key": path + ":number" });
      number.addEventListener("change", function () {
        var n = Number(number.value);
        spec.args[i] = { value: isFinite(n) ? n : 0 };
        changed("refresh");
      });
      box.appendChild(number);
    }
    return box;
  }

  // --- aggregation -----------------------------------------------------------------------------

  function renderAggr(q, qpath) {
    var path = at(qpath, "aggr");
    var children = [];
    if (q.group) {
      children.push(el("p", {}, [el("code", { class: "q-nested", text: "group: " + JSON.stringify(q.group) }),
        removeButton("grouping", function () { delete q.group; changed("refresh"); }, path + ":group")]));
      return section("Aggregate", at(qpath, "group"), children);
    }
    var offered = offers(qpath, "aggr");
    var current = q.aggr && isTable(q.aggr.over) ? tableKey(q.aggr.over) : "";
    var options = [["", "— no aggregation —"]].concat(offered.map(function (o) {
      return [tableKey(o), o.class_name + " (" + o.relation + (o.schema !== (q.from || {}).schema ? ", " + o.schema : "") + ")"];
    }));
    if (q.aggr && !isTable(q.aggr.over)) { options.push(["#nested", "(a nested query)"]); current = "#nested"; }
    children.push(el("label", {}, ["Per row, over the matching rows of "]));
    children.push(el("span", { "data-path": at(path, "over") }, [select(options, current, function (value) {
      if (!value) { delete q.aggr; changed("refresh"); return; }
      if (value === "#nested") { return; }
      var over = sourceOf(value);
      var offer = offered.filter(function (o) { return tableKey(o) === value; })[0] || {};
      var mine = heading(qpath, "projected").filter(function (a) { return a.in_key; }).map(function (a) { return a.name; });
      var counted = (offer.primary_key || []).filter(function (n) { return mine.indexOf(n) < 0; })[0];
      var compute = q.aggr && q.aggr.compute ? q.aggr.compute
        : { n: counted ? { function: "count", attribute: counted } : { function: "count" } };
      q.aggr = { over: over, compute: compute };
      changed("refresh");
    }, { "aria-label": "aggregate over", "data-key": path + ":over", class: "q-aggr-over" })]));
    if (q.aggr) {
      var over = heading(qpath, "over");
      var compute = q.aggr.compute || {};
      var rows = el("div", { class: "q-aggregates", "data-path": at(path, "compute") });
      Object.keys(compute).forEach(function (name) {
        var spec = compute[name];
        var rowPath = at(at(path, "compute"), name);
        var attrOptions = (spec.function === "count" ? [["", "(rows: count(*))"]] : []).concat(
          over.filter(function (a) { return a.comparable; }).map(function (a) { return [a.name, a.name]; }));
        rows.appendChild(el("div", { class: "q-row", "data-path": rowPath }, [
          nameInput(name, function (value) { q.aggr.compute = rebuild(q.aggr.compute, name, value || name, spec); changed("refresh"); },
            { "aria-label": "aggregate name", "data-key": rowPath + ":name" }),
          " = ",
          el("span", { "data-path": at(rowPath, "function") }, [select(FUNCTIONS, spec.function, function (value) {
            spec.function = value;
            if (value !== "count" && !spec.attribute) { var first = over.filter(function (a) { return a.comparable; })[0]; if (first) { spec.attribute = first.name; } }
            if (value !== "count") { delete spec.distinct; }
            changed("refresh");
          }, { "aria-label": "aggregate function", "data-key": rowPath + ":function", class: "q-function" })]),
          " of ",
          el("span", { "data-path": at(rowPath, "attribute") }, [select(attrOptions, spec.attribute || "", function (value) {
            if (value) { spec.attribute = value; } else { delete spec.attribute; delete spec.distinct; }
            changed("refresh");
          }, { "aria-label": "aggregated attribute", "data-key": rowPath + ":attribute", class: "q-aggr-attribute" })]),
          spec.function === "count" && spec.attribute ? el("label", { class: "q-check" }, [
            el("input", { type: "checkbox", checked: !!spec.distinct, "data-key": rowPath + ":distinct", onchange: function (e) {
              if (e.target.checked) { spec.distinct = true; } else { delete spec.distinct; }
              changed("refresh");
            } }), " distinct"]) : null,
          removeButton("aggregate", function () {
            delete q.aggr.compute[name];
            changed("refresh");
          }, rowPath + ":remove")
        ]));
      });
      rows.appendChild(button("+ aggregate", function () {
        q.aggr.compute = Object.assign({}, q.aggr.compute || {});
        q.aggr.compute[freeName(q.aggr.compute, "n")] = { function: "count" };
        changed("refresh");
      }, { class: "q-add-aggregate", "data-key": path + ":add" }));
      children.push(rows);
      var projected = heading(qpath, "projected").filter(function (a) { return !a.in_key; });
      if (projected.length) {
        var keep = q.aggr.keep || [];
        var keepBox = el("div", { class: "q-keep", "data-path": at(path, "keep") }, [el("span", { class: "hint", text: "Keep: " })]);
        projected.forEach(function (a) {
          keepBox.appendChild(el("label", { class: "q-check" }, [
            el("input", { type: "checkbox", checked: keep.indexOf(a.name) >= 0, "data-key": path + ":keep:" + a.name, onchange: function (e) {
              var now = (q.aggr.keep || []).filter(function (n) { return n !== a.name; });
              if (e.target.checked) { now.push(a.name); }
              if (now.length) { q.aggr.keep = now; } else { delete q.aggr.keep; }
              changed("refresh");
            } }), " " + a.name]));
        });
        children.push(keepBox);
      }
      children.push(el("label", { class: "q-check" }, [
        el("input", { type: "checkbox", checked: !!q.aggr.exclude_nonmatching, "data-key": path + ":exclude", onchange: function (e) {
          if (e.target.checked) { q.aggr.exclude_nonmatching = true; } else { delete q.aggr.exclude_nonmatching; }
          changed("refresh");
        } }), " only rows with matches"]));
    }
    return section("Aggregate", path, children);
  }

  // --- union, order, limit ---------------------------------------------------------------------

  function renderUnion(q) {
    var children = [];
    (q.union || []).forEach(function (item, i) {
      var itemPath = "union[" + i + "]";
      var box = el("div", { class: "q-union-item", "data-path": itemPath }, [
        el("div", { class: "q-union-head" }, [el("strong", { text: "or the rows of" }),
          removeButton("union", function () {
            q.union.splice(i, 1);
            if (!q.union.length) { delete q.union; }
            changed("refresh");
          }, itemPath + ":remove")])
      ]);
      if ("from" in item) { box.appendChild(renderQuery(item, itemPath, true)); }
      else { box.appendChild(el("p", {}, [el("span", { class: "q-table", text: tableLabel(item) })])); }
      children.push(box);
    });
    children.push(button("+ union with another query", function () {
      var from = isTable(state.from) ? clone(state.from) : { schema: "", table: "" };
      q.union = (q.union || []).concat([{ from: from, proj: {} }]);
      changed("refresh");
    }, { class: "q-add-union", "data-key": "union:add", title: "rows of either query: they need the same primary key and no common secondary attribute" }));
    return section("Union", "union", children);
  }

  function renderOrder(q) {
    var result = heading("", "result").filter(function (a) { return a.comparable; });
    var attrs = result.map(function (a) { return [a.name, a.name]; });
    var children = [];
    (q.order || []).forEach(function (item, i) {
      var itemPath = "order[" + i + "]";
      children.push(el("div", { class: "q-row", "data-path": itemPath }, [
        el("span", { "data-path": at(itemPath, "attribute") }, [select(attrs, item.attribute, function (value) { item.attribute = value; changed(); },
          { "aria-label": "order by", "data-key": itemPath + ":attribute", class: "q-order-attribute" })]),
        el("label", { class: "q-check" }, [el("input", { type: "checkbox", checked: !!item.descending, "data-key": itemPath + ":desc", onchange: function (e) {
          if (e.target.checked) { item.descending = true; } else { delete item.descending; }
          changed();
        } }), " descending"]),
        removeButton("order", function () { q.order.splice(i, 1); changed("render"); }, itemPath + ":remove")
      ]));
    });
    children.push(button("+ order by", function () {
      var used = (q.order || []).map(function (o) { return o.attribute; });
      var first = result.filter(function (a) { return used.indexOf(a.name) < 0; })[0];
      if (!first) { return; }
      q.order = (q.order || []).concat([{ attribute: first.name }]);
      changed("render");
    }, { class: "q-add-order", "data-key": "order:add" }));
    var limit = el("input", { type: "number", min: 1, max: 1000, value: q.limit || "", placeholder: "100", class: "q-limit", "aria-label": "rows per page", "data-key": "limit", size: 5 });
    limit.addEventListener("input", function () {
      var n = parseInt(limit.value, 10);
      if (isFinite(n)) { q.limit = n; } else { delete q.limit; }
      changed();
    });
    children.push(el("p", { "data-path": "limit" }, [el("label", {}, ["Rows per page ", limit])]));
    return section("Order and page size", "order", children);
  }

  // --- errors ----------------------------------------------------------------------------------

  function covers(elementPath, errorPath) {
    if (elementPath === errorPath || elementPath === "") { return true; }
    return errorPath.indexOf(elementPath) === 0 && (errorPath[elementPath.length] === "." || errorPath[elementPath.length] === "[");
  }

  function placeErrors() {
    errors.forEach(function (error) {
      var best = null;
      var bestLength = -1;
      root.querySelectorAll("[data-path]").forEach(function (node) {
        var p = node.getAttribute("data-path");
        if (covers(p, error.path || "") && p.length > bestLength) { best = node; bestLength = p.length; }
      });
      var message = el("p", { class: "field-error" + (error.kind === "timeout" ? " timeout" : ""), role: "alert", "data-error-path": error.path || "" },
        [error.kind === "timeout" ? "Time limit: " : "", error.message]);
      if (!best) { root.insertBefore(message, root.firstChild); return; }
      best.classList.add("has-error");
      if (best.tagName === "SELECT" || best.tagName === "INPUT") { best.parentNode.insertBefore(message, best.nextSibling); }
      else { best.appendChild(message); }
    });
  }

  // ------------------------------------------------------------------------------------------
  // the form, the JSON, Copy as Python
  // ------------------------------------------------------------------------------------------

  if (jsonArea) {
    jsonArea.addEventListener("input", function () { jsonEdited = true; });
    jsonArea.addEventListener("change", function () {
      var parsed;
      try { parsed = JSON.parse(jsonArea.value); } catch (e) { setStatus("The JSON is not valid: " + e.message); return; }
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) { setStatus("A description is a JSON object."); return; }
      state = parsed;
      delete state.after;
      models = new WeakMap();
      jsonEdited = false;
      setStatus("");
      changed("refresh");
    });
  }

  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var d;
      if (jsonEdited) {
        try { d = JSON.parse(jsonArea.value); } catch (e) { d = null; }
        if (!d) {  // let the server say what is wrong with it
          window.location.assign(cfg.urls.page + "?q=" + encodeURIComponent(jsonArea.value));
          return;
        }
      } else {
        d = description();
      }
      if (!d) { setStatus("Choose a table to start from."); return; }
      setStatus("Running…");
      encode(d).then(function (token) { window.location.assign(cfg.urls.page + "?q=" + token); });
    });
  }

  var copy = document.getElementById("copy-python");
  var copyStatus = document.getElementById("copy-status");
  function visibleCode() {
    var shown = null;
    document.querySelectorAll("textarea.python-code").forEach(function (area) { if (!area.hidden) { shown = area; } });
    return shown;
  }
  document.querySelectorAll('input[name="flavour"]').forEach(function (radio) {
    radio.addEventListener("change", function () {
      document.querySelectorAll("textarea.python-code").forEach(function (area) {
        area.hidden = area.getAttribute("data-flavour") !== radio.value;
      });
    });
  });
  if (copy) {
    copy.addEventListener("click", function () {
      var area = visibleCode();
      if (!area) { return; }
      function fallback() {
        area.focus();
        area.select();
        copyStatus.textContent = "Selected: press Ctrl+C (⌘C) to copy.";
      }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(area.value).then(function () { copyStatus.textContent = "Copied."; }, fallback);
      } else {
        fallback();
      }
    });
  }

  function reset() {
    // the state of the page's own URL (also when the browser shows it again from its cache
    // after back/forward: the query shown is the URL's, not what was being edited)
    state = cfg.description ? clone(cfg.description) : null;
    if (state) { delete state.after; }
    models = new WeakMap();
    context = cfg.context || { queries: {}, offers: {}, error: null };
    errors = cfg.errors || [];
    jsonEdited = false;
    refreshSeq++;
    root.removeAttribute("data-busy");
    setStatus("");
    render();
    showJson();
    syncTokens();
  }

  window.addEventListener("pageshow", function (event) { if (event.persisted) { reset(); } });
  var jsonPanel = document.getElementById("query-json");
  if (jsonPanel && state) { jsonPanel.open = false; }
  root.setAttribute("data-ready", "true");
  reset();
}());
