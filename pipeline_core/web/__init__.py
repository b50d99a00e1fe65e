"""Web front door: server-rendered pages with htmx partials (views, urls, forms, the schema
diagram, blob previews). All use cases are in :mod:`pipeline_core.services`."""
