"""The API's routes, one module per resource; each adds its routes, for the node it is given, to a router.

No `from __future__ import annotations` in these modules: FastAPI reads the annotations of the routes at run time.
"""
