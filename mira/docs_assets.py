"""Swagger UI and ReDoc, served by Mira itself so /docs and /redoc work without internet.

The assets come from one pinned package, openapi-ui-bundles (Swagger UI and ReDoc); its folders
are found without importing it. flask-smorest's pages load them from `OPENAPI_SWAGGER_UI_URL`
and `OPENAPI_REDOC_URL`, which point here unless a deployment sets MIRA_SWAGGER_UI_URL /
MIRA_REDOC_URL (a CDN, say). (flask-swagger-ui 5.34's Swagger UI stopped rendering this API
after its second tag, with no error; tests/e2e/test_docs_offline.py catches such a thing.)
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from flask import Blueprint, abort, send_from_directory

# A week: the files change only with the pinned package's version.
MAX_AGE_S = 7 * 86400

blp = Blueprint("docs_assets", __name__)


def _package_folder(package: str, *parts: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)), *parts)


FOLDERS = {
    "swagger-ui": ("openapi_ui_bundles", "swagger_ui", "vendor"),
    "redoc": ("openapi_ui_bundles", "redoc", "vendor"),
}


@blp.route("/docs-assets/<tool>/<path:filename>")
def asset(tool: str, filename: str):
    if tool not in FOLDERS:
        abort(404)
    folder = _package_folder(*FOLDERS[tool])
    if folder is None:
        abort(404)
    return send_from_directory(folder, filename, max_age=MAX_AGE_S)
