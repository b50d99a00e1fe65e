"""Where a page's time goes (issue 14): run by bench/pages.py as a subprocess with the
server's environment, this requests each page through Django's test client in this
process (no HTTP) and times the parts of it, wrapping the functions that do them.

Prints JSON: ``{page: {"total": p50 ms, part: mean ms per request, ...}}`` (parts inside
parts as ``outer/inner``); ``other`` is the total minus the outer parts.
"""

from __future__ import annotations

import collections
import functools
import importlib
import json
import statistics
import sys
import time

REQUESTS = 200

#: Parts that do not overlap (each called from the view, or before it), in display order,
#: each with the parts inside it: label -> (module, function, {inner label: (module,
#: function)}). Their sum subtracted from the total is "other".
PARTS = {
    "role check": (
        "pipeline_core.roles",
        "decide",
        {"session and user": ("django.contrib.auth", "get_user")},
    ),
    "rows and their cells": (
        "pipeline_core.web.views",
        "_rows_context",
        {
            "page query and previews": ("pipeline_core.services", "rows_window"),
            "row estimate (information_schema)": ("pipeline_core.services", "row_estimate"),
        },
    ),
    "parents, children, parts": (
        "pipeline_core.services",
        "table_page",
        {"children (InnoDB's foreign keys)": ("pipeline_core.services.browse", "children_of")},
    ),
    "schemas and their tables": ("pipeline_core.services", "list_schemas", {}),
    "tables by tier": ("pipeline_core.services", "schema_tables", {}),
    "graph of the neighbours": ("pipeline_core.services", "dependency_graph", {}),
    "diagram (kept SVG)": ("pipeline_core.web.diagram_cache", "schema_svg", {}),
    "template rendering": ("pipeline_core.web.views", "_render", {}),
}
#: Measured across the parts (wherever the catalog is first asked in a request).
ACROSS = {"fingerprint checks": ("pipeline_core.datamodel.catalog", "Catalog._observe")}
OTHER = "other (middleware, view code)"


def rows(profile: dict) -> list[tuple[str, str]]:
    """``(key in the profile, label shown)`` in display order."""
    shown = []
    for label, (_, _, inner) in PARTS.items():
        shown.append((label, label))
        shown.extend((f"{label}/{name}", f"&nbsp;&nbsp;of which {name}") for name in inner)
    shown.append((OTHER, OTHER))
    shown.extend((label, f"{label} (inside the parts above)") for label in ACROSS)
    return [(key, label) for key, label in shown if any(key in p for p in profile.values())]


def _wrap(spent, label, module_name, name):
    module = importlib.import_module(module_name)
    owner, attr = module, name
    if "." in name:
        cls, attr = name.split(".")
        owner = getattr(module, cls)
    original = getattr(owner, attr)

    @functools.wraps(original)
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - start

    setattr(owner, attr, timed)


def main(user: str, pages: dict) -> dict:
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.test import Client

    spent: dict[str, float] = collections.defaultdict(float)
    for label, (module, name, inner) in PARTS.items():
        _wrap(spent, label, module, name)
        for inner_label, (inner_module, inner_name) in inner.items():
            _wrap(spent, f"{label}/{inner_label}", inner_module, inner_name)
    for label, (module, name) in ACROSS.items():
        _wrap(spent, label, module, name)
    client = Client()
    client.force_login(User.objects.get(username=user))
    result = {}
    for page, (url, headers) in pages.items():
        for _ in range(20):
            assert client.get(url, headers=headers).status_code == 200, url
        spent.clear()
        times = []
        for _ in range(REQUESTS):
            start = time.perf_counter()
            client.get(url, headers=headers)
            times.append(time.perf_counter() - start)
        parts = {k: v / REQUESTS * 1000 for k, v in spent.items() if v}
        total = statistics.median(times) * 1000
        outer = sum(v for k, v in parts.items() if k in PARTS)
        result[page] = {"total": total, **parts, OTHER: total - outer}
    return result


if __name__ == "__main__":
    arguments = json.loads(sys.argv[1])
    print(json.dumps(main(arguments["user"], arguments["pages"])))
