/*
 * LabBook: pan and zoom of the schema diagrams (issue #14), with the vendored Panzoom
 * (static/vendor/panzoom, global `Panzoom`).
 *
 * Each `.dag-viewport` holding an `svg.dag` (frontend_templates/_diagram.html) becomes a
 * window on the diagram: drag to pan, mouse wheel or pinch to zoom, the toolbar's buttons
 * (+, −, Fit, Reset) and, with the viewport focused, the keys + − 0 1 and the arrows. The
 * first view shows the diagram at a readable size (at least READABLE of its natural size:
 * 12 pt labels stay at least 12 px high), not squeezed to the column's width, centred
 * across and from its top (where a pipeline's first tables are). Panzoom
 * transforms the <svg> with a CSS `transform: scale(s) translate(x px, y px)` about its
 * centre (`transform-origin: 50% 50%`).
 *
 * A drag ending on a table does not open it; a table reached with Tab is brought into
 * view. The view of each diagram (its data-dag-key) is kept across htmx refreshes (the
 * progress page redraws its figure every few seconds), and a refresh waits while a drag
 * is under way. Without JavaScript the viewport simply scrolls.
 */
(function () {
  "use strict";

  var READABLE = 0.75; // least scale of the first view (12 pt labels: 12 px)
  var MAX_SCALE = 4;
  var STEP = 1.25; // one click of + or −
  var PAD = 8; // px between the viewport's edge and the diagram in the first view
  var PAN_KEY = 60; // px an arrow key pans
  var DRAG = 5; // px a pointer moves before a press is a drag
  var views = {}; // data-dag-key -> {scale, x, y} of the views seen, across htmx swaps

  function clamp(value, low, high) {
    return Math.max(low, Math.min(high, value));
  }

  function setup(viewport) {
    if (viewport.getAttribute("data-dag-ready") || typeof window.Panzoom !== "function") {
      return;
    }
    var svg = viewport.querySelector("svg.dag");
    if (!svg) {
      return;
    }
    viewport.setAttribute("data-dag-ready", "1");
    var figure = viewport.closest(".diagram") || viewport.parentNode;
    var toolbar = figure.querySelector("[data-dag-toolbar]");
    var zoomText = figure.querySelector("[data-dag-zoom]");
    var key = viewport.getAttribute("data-dag-key") || "";
    // natural size in CSS px (Graphviz writes it in pt)
    var width = svg.width.baseVal.value;
    var height = svg.height.baseVal.value;
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    viewport.classList.add("dag-live");

    var first = clamp((viewport.clientWidth - 2 * PAD) / width, READABLE, 1);
    var tall = Math.round(height * first + 2 * PAD);
    viewport.style.height = clamp(tall, 160, Math.round(window.innerHeight * 0.75)) + "px";

    function fitScale() {
      var w = viewport.clientWidth - 2 * PAD;
      var h = viewport.clientHeight - 2 * PAD;
      return Math.max(0.01, Math.min(w / width, h / height));
    }

    // the view showing the diagram at `scale` with its top left corner at (left, top) px of
    // the viewport, in Panzoom's terms: scale(s) translate(x, y) about the svg's centre
    function view(scale, left, top) {
      return {
        scale: scale,
        x: (left - width / 2) / scale + width / 2,
        y: (top - height / 2) / scale + height / 2,
      };
    }

    // centred across; the top shown first when the diagram is taller than the viewport
    function centred(scale) {
      var w = viewport.clientWidth;
      var h = viewport.clientHeight;
      var top = height * scale <= h - 2 * PAD ? (h - height * scale) / 2 : PAD;
      return view(scale, (w - width * scale) / 2, top);
    }

    function readable() {
      return centred(clamp((viewport.clientWidth - 2 * PAD) / width, READABLE, 1));
    }

    // Panzoom sets its start view itself (and again after a timeout): the first view is
    // given as its start, the one seen before a refresh if there was one
    var start = views[key] || readable();
    var panzoom = window.Panzoom(svg, {
      canvas: true,
      maxScale: MAX_SCALE,
      minScale: Math.min(0.05, fitScale() / 2),
      step: 0.3,
      cursor: "",
      animate: false,
      startScale: start.scale,
      startX: start.x,
      startY: start.y,
    });

    function place(to) {
      panzoom.zoom(to.scale, { animate: false, force: true });
      panzoom.pan(to.x, to.y, { animate: false, force: true });
    }

    function reset() {
      place(readable());
    }

    function fit() {
      place(centred(Math.min(fitScale(), MAX_SCALE)));
    }

    function zoomBy(factor) {
      var box = viewport.getBoundingClientRect();
      panzoom.zoomToPoint(panzoom.getScale() * factor, {
        clientX: box.left + box.width / 2,
        clientY: box.top + box.height / 2,
      });
    }

    function panBy(dx, dy) {
      var s = panzoom.getScale();
      var at = panzoom.getPan();
      panzoom.pan(at.x + dx / s, at.y + dy / s, { animate: false, force: true });
    }

    function show(scale) {
      if (zoomText) {
        zoomText.textContent = Math.round(scale * 100) + " %";
      }
    }

    // each view drawn is remembered (Panzoom reports it after painting)
    svg.addEventListener("panzoomchange", function (event) {
      var drawn = event.detail;
      views[key] = { scale: drawn.scale, x: drawn.x, y: drawn.y };
      show(drawn.scale);
    });
    views[key] = start;
    show(start.scale);

    viewport.addEventListener("wheel", panzoom.zoomWithWheel, { passive: false });

    // a press that moved is a drag: the click at its end opens nothing
    var down = null;
    var dragged = false;
    viewport.addEventListener(
      "pointerdown",
      function (event) {
        down = { x: event.clientX, y: event.clientY };
        dragged = false;
      },
      true
    );
    viewport.addEventListener(
      "pointermove",
      function (event) {
        if (down && Math.abs(event.clientX - down.x) + Math.abs(event.clientY - down.y) > DRAG) {
          dragged = true;
          viewport.classList.add("dag-dragging");
        }
      },
      true
    );
    function release() {
      down = null;
      viewport.classList.remove("dag-dragging");
    }
    document.addEventListener("pointerup", release);
    document.addEventListener("pointercancel", release);
    viewport.addEventListener(
      "click",
      function (event) {
        if (dragged) {
          event.preventDefault();
          event.stopPropagation();
          dragged = false;
        }
      },
      true
    );

    // a table reached with the keyboard is brought into view
    viewport.addEventListener("focusin", function (event) {
      viewport.scrollLeft = 0;
      viewport.scrollTop = 0;
      if (event.target === viewport) {
        return;
      }
      var box = viewport.getBoundingClientRect();
      var node = event.target.getBoundingClientRect();
      var inside =
        node.left >= box.left &&
        node.right <= box.right &&
        node.top >= box.top &&
        node.bottom <= box.bottom;
      if (!inside) {
        panBy(
          box.left + box.width / 2 - (node.left + node.width / 2),
          box.top + box.height / 2 - (node.top + node.height / 2)
        );
      }
    });

    viewport.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey) {
        return;
      }
      var actions = {
        "+": function () { zoomBy(STEP); },
        "=": function () { zoomBy(STEP); },
        "-": function () { zoomBy(1 / STEP); },
        "_": function () { zoomBy(1 / STEP); },
        "0": fit,
        "1": reset,
        ArrowLeft: function () { panBy(PAN_KEY, 0); },
        ArrowRight: function () { panBy(-PAN_KEY, 0); },
        ArrowUp: function () { panBy(0, PAN_KEY); },
        ArrowDown: function () { panBy(0, -PAN_KEY); },
      };
      var action = actions[event.key];
      if (action) {
        event.preventDefault();
        action();
      }
    });

    if (toolbar) {
      var buttons = {
        "zoom-in": function () { zoomBy(STEP); },
        "zoom-out": function () { zoomBy(1 / STEP); },
        fit: fit,
        reset: reset,
      };
      toolbar.addEventListener("click", function (event) {
        var button = event.target.closest("[data-dag-action]");
        if (button && buttons[button.getAttribute("data-dag-action")]) {
          buttons[button.getAttribute("data-dag-action")]();
        }
      });
      toolbar.hidden = false;
    }
  }

  function scan(root) {
    var scope = root && root.querySelectorAll ? root : document;
    if (scope.matches && scope.matches(".dag-viewport")) {
      setup(scope);
    }
    scope.querySelectorAll(".dag-viewport").forEach(setup);
  }

  // a refresh of a figure waits while its diagram is being dragged
  document.addEventListener("htmx:beforeRequest", function (event) {
    var element = event.detail && event.detail.elt;
    if (element && element.querySelector && element.querySelector(".dag-viewport.dag-dragging")) {
      event.preventDefault();
    }
  });
  document.addEventListener("htmx:load", function (event) {
    scan(event.detail && event.detail.elt);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { scan(document); });
  } else {
    scan(document);
  }
})();
