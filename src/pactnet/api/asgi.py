"""The ASGI application of a node named by the environment, for servers that start several workers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from pactnet.api.app import create_app
from pactnet.api.collector import settle_for_serving
from pactnet.api.serving import use_request_timeout
from pactnet.node import open_node

if TYPE_CHECKING:
    from fastapi import FastAPI

NODE_FOLDER = "PACTNET_NODE"


def app_from_environment() -> FastAPI:
    """The API of the node whose folder is in PACTNET_NODE (uvicorn calls this once per worker)."""
    node = open_node(Path(os.environ[NODE_FOLDER]))
    use_request_timeout(node.config.request_timeout_ms)  # this worker's connections (pactnet.api.serving)
    app = create_app(node, dispatch=True)
    settle_for_serving()
    return app
