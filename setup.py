"""Package discovery for the wheel (the rest of the metadata is in pyproject.toml).

Every subpackage of ``mapper`` and ``formulations`` is found, so a new one
ships without editing this file. The YAML library, top-level ``problems/`` in
the checkout, ships as the package data ``mapper/library/`` so that an
installed fusesat resolves bundled names from any directory
(``mapper.io.library``).
"""

from setuptools import find_packages, setup

LIBRARY = "mapper.library"

setup(
    packages=[*find_packages(include=["mapper", "mapper.*", "formulations", "formulations.*"]), LIBRARY],
    package_dir={LIBRARY: "problems"},
    package_data={LIBRARY: ["**/*.yaml"]},
)
