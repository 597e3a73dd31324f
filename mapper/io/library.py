"""The bundled YAML library: accelerators, networks, problems and suites.

The library is the checkout's ``problems/`` folder. A wheel ships it as
package data (``mapper/library/``), so an installed fusesat resolves every
bundled name from any directory; ``$FUSESAT_LIBRARY`` points elsewhere.

Names resolve the same way everywhere (problem files, suites, the CLI):
``X.yaml`` (or ``.yml``) is a path relative to the file that names it;
a bare name ``X`` is looked up first beside that file (``X.yaml``, then
``FOLDER/X.yaml``), so a local file of the same name wins, and then in the
bundled library's ``FOLDER/``.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

FOLDERS = ("accelerators", "networks", "problems", "suites")
YAML_SUFFIXES = (".yaml", ".yml")


def library_root() -> Path:
    """``$FUSESAT_LIBRARY``, else the copy inside the installed package, else the checkout's ``problems/``."""
    env = os.environ.get("FUSESAT_LIBRARY")
    if env:
        return Path(env)
    package = Path(__file__).resolve().parent.parent
    installed = package / "library"
    return installed if installed.is_dir() else package.parent / "problems"


def listing(folder: str) -> list[tuple[str, Path]]:
    """Every bundled file of ``folder`` once, under its shortest unambiguous name:
    the file name without suffix, or its path below the folder where that name
    is shared (``layer/resnet18_conv1``)."""
    root = library_root() / folder
    paths = sorted(p for p in root.rglob("*") if p.suffix in YAML_SUFFIXES)
    stems = Counter(p.stem for p in paths)
    return [(p.stem if stems[p.stem] == 1 else p.relative_to(root).with_suffix("").as_posix(), p) for p in paths]


def lookup(folder: str) -> dict[str, Path]:
    """Bundled files of ``folder`` by every name that finds them: the listed name
    and the path below the folder without suffix."""
    named = dict(listing(folder))
    named.update(
        {path.relative_to(library_root() / folder).with_suffix("").as_posix(): path for path in named.values()}
    )
    return named


def exists(path: Path) -> bool:
    """``path.exists()``, False for a name the system cannot even look up
    (longer than its limit, an embedded NUL): such a file is not there."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def resolve_reference(value: str, base: Path, folder: str) -> Path:
    """The file that ``value`` names from the file ``base`` (see the module
    docstring); a name found nowhere resolves to its bundled path, which does
    not exist, so the caller's error shows where it looked."""
    if value.endswith(YAML_SUFFIXES):
        path = Path(value)
        return path if path.is_absolute() else base.parent / path
    for local in (base.parent / f"{value}.yaml", base.parent / folder / f"{value}.yaml"):
        if exists(local) and local.is_file():
            return local
    return lookup(folder).get(value, library_root() / folder / f"{value}.yaml")


def resolve_argument(value: str, folder: str) -> Path:
    """A command-line file argument: an existing path, else a bundled name of ``folder``."""
    path = Path(value)
    if exists(path):
        return path
    return lookup(folder).get(value.removesuffix(".yaml").removesuffix(".yml"), path)
