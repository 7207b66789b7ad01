"""The edge of the HTTP service: limits that hold before authentication and routing (issue 17,
docs/security.md): the ASGI guard (:mod:`service.edge.guard`), the uvicorn protocol ``edoc serve`` runs
(:mod:`service.edge.server`), per-address rate limits (:mod:`service.edge.ratelimit`) and the JSON nesting scanner
(:mod:`service.edge.jsondepth`)."""
