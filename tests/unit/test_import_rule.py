"""The direction of imports written down in docs/architecture.md, kept: no new pair of packages
that import each other, nothing below the pipeline reaching up into it, pure audio code."""

from __future__ import annotations

import importlib.util
from pathlib import Path

TOOL = Path(__file__).resolve().parents[2] / "tools" / "import_graph.py"

# The pairs left, each explained in docs/architecture.md ("The rule for cross-domain calls").
# Removing one is welcome (shrink this set); adding one is not.
KNOWN_TWO_WAY = {
    ("assistant", "speech"),
    ("audit", "auth"),
    ("auth", "networks"),
    ("conversations", "interactions"),
    ("conversations", "persons"),
    ("events", "realtime"),
    ("interactions", "persons"),
    ("jobs", "metrics"),
    ("lambda_tasks", "queue"),
}


def _edges() -> dict[tuple[str, str], list[str]]:
    spec = importlib.util.spec_from_file_location("import_graph", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.edges_of(module.ROOT)


def test_no_new_pair_of_packages_imports_each_other():
    edges = _edges()
    pairs = {tuple(sorted(e)) for e in edges if (e[1], e[0]) in edges}
    new = pairs - KNOWN_TWO_WAY
    assert not new, {pair: edges[pair] + edges[pair[::-1]] for pair in new}


def test_the_pipeline_is_imported_by_nothing_inside_mira():
    """Job kinds reach it from jobs/runner.py; a domain that called up into it would tie the
    domains to the stages that orchestrate them."""
    edges = _edges()
    assert {
        source: where for (source, target), where in edges.items() if target == "pipeline"
    } == {}


def test_audio_code_imports_no_other_package_of_mira():
    edges = _edges()
    assert {target: where for (source, target), where in edges.items() if source == "audio"} == {}


def test_the_graph_sees_imports_inside_functions():
    """The known pairs are found at all (a walker that saw nothing would pass the tests above)."""
    edges = _edges()
    assert ("interactions", "persons") in edges and ("persons", "interactions") in edges
    assert any("(fn)" in where for where in edges[("interactions", "persons")])
