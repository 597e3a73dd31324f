"""The layering rules (README "Layout", DESIGN 3), derived from the packages
themselves so that a new module is covered without editing this file.

Rooms, lowest first; a module may import only from its own room or a lower
one. Only formulations/ imports ortools; the cost models and the referee
never import a formulation, and the referee imports no cost formula.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROOMS = (
    "mapper.core",  # vocabulary: spec, mapping, groups, task graphs, results, errors
    "mapper.io",  # YAML and ONNX in, the bundled library
    "mapper.cost",  # the cost model of every mode (the executable specification)
    "mapper.referee",  # decoders to the schedule IR, simulator, executor, verify
    "mapper.heuristics",  # baselines: random search, HEFT, enumeration
    "formulations",  # CP-SAT models (the only room importing ortools)
    "mapper.solve",  # public API: one solver per mode, partitions, compare
    "mapper.app",  # CLI, rendering, plots, exports, batches
)
# Cost formulas the referee still applies to measured counts instead of measuring
# the makespan from its replay; each goes with the issue that removes it.
PENDING_REFEREE_COST_IMPORTS = {
    ("mapper.referee.verify", "mapper.cost.fused"): "issue 15: fused latency measured from the replay",
}
PACKAGE_FACES = {"mapper"}  # package __init__ files that define nothing
MAX_LINES = 300


def modules() -> dict[str, Path]:
    """Every module of the mapper and formulations packages, by dotted name."""
    found = {}
    for package in ("mapper", "formulations"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def room_of(module: str) -> str | None:
    for room in ROOMS:
        if module == room or module.startswith(room + "."):
            return room
    return None


def imported_modules(path: Path) -> set[str]:
    """Absolute module names imported anywhere in the file (function bodies too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_every_module_lives_in_a_room():
    homeless = [m for m in modules() if room_of(m) is None and m not in PACKAGE_FACES]
    assert homeless == [], f"add these modules to a room of ROOMS (or move them): {homeless}"


def test_no_import_points_up():
    rank = {room: i for i, room in enumerate(ROOMS)}
    upward = []
    for module, path in modules().items():
        source = room_of(module)
        for target in imported_modules(path):
            room = room_of(target)
            if source and room and rank[room] > rank[source]:
                upward.append(f"{module} -> {target}")
    assert upward == []


def test_only_formulations_import_ortools():
    users = [m for m, path in modules().items() if any(t.split(".")[0] == "ortools" for t in imported_modules(path))]
    assert users and all(room_of(m) == "formulations" for m in users), users


def test_referee_imports_no_cost_formula():
    found = {
        (module, target)
        for module, path in modules().items()
        if room_of(module) == "mapper.referee"
        for target in imported_modules(path)
        if room_of(target) == "mapper.cost"
    }
    assert found - set(PENDING_REFEREE_COST_IMPORTS) == set()
    stale = set(PENDING_REFEREE_COST_IMPORTS) - found
    assert stale == set(), f"resolved, remove from PENDING_REFEREE_COST_IMPORTS: {stale}"


def test_solver_free_rooms_load_no_solver():
    """Importing every module below formulations/ loads neither ortools nor a formulation."""
    rank = {room: i for i, room in enumerate(ROOMS)}
    below = [m for m in modules() if room_of(m) and rank[room_of(m)] < rank["formulations"]]
    code = (
        f"import sys; import {', '.join(below)}; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('formulations', 'ortools')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_no_python_file_over_the_limit():
    files = [p for folder in ("mapper", "formulations", "scripts", "tests") for p in (ROOT / folder).rglob("*.py")]
    long = {str(p.relative_to(ROOT)): n for p in files if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}, f"split these files (at most {MAX_LINES} lines): {long}"
