"""The bundled library: names resolve from any directory, a local file of the
same name wins, and ``fusesat library`` lists every bundled file."""

from __future__ import annotations

import shutil

from mapper.app.cli import main
from mapper.io.library import FOLDERS, YAML_SUFFIXES, library_root, lookup, resolve_argument, resolve_reference
from mapper.io.loading import load_problem

BUNDLED_EYERISS = library_root() / "accelerators" / "eyeriss_like.yaml"


def test_a_bare_name_resolves_to_the_bundled_file_from_anywhere(tmp_path):
    assert resolve_reference("eyeriss_like", tmp_path / "p.yaml", "accelerators") == BUNDLED_EYERISS


def test_a_local_file_of_the_same_name_wins(tmp_path):
    beside = tmp_path / "eyeriss_like.yaml"
    shutil.copy(BUNDLED_EYERISS, beside)
    assert resolve_reference("eyeriss_like", tmp_path / "p.yaml", "accelerators") == beside
    beside.unlink()
    (tmp_path / "accelerators").mkdir()
    in_folder = tmp_path / "accelerators" / "eyeriss_like.yaml"
    shutil.copy(BUNDLED_EYERISS, in_folder)
    assert resolve_reference("eyeriss_like", tmp_path / "p.yaml", "accelerators") == in_folder


def test_a_yaml_path_is_relative_to_the_file_that_names_it(tmp_path):
    assert resolve_reference("hw/a.yaml", tmp_path / "p.yaml", "accelerators") == tmp_path / "hw" / "a.yaml"


def test_a_problem_outside_the_checkout_names_bundled_parts(tmp_path):
    problem = tmp_path / "mine.yaml"
    problem.write_text("mode: layer\nnetwork: resnet18\nlayers: [conv1]\naccelerator: eyeriss_like\n")
    loaded = load_problem(problem)
    assert loaded.accelerator.name == "eyeriss_like" and loaded.network.name == "resnet18"


def test_problem_names_on_the_command_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    short = resolve_argument("resnet18_conv1", "problems")
    assert short == library_root() / "problems" / "layer" / "resnet18_conv1.yaml"
    assert resolve_argument("layer/resnet18_conv1", "problems") == short
    assert resolve_argument("smoke", "suites") == library_root() / "suites" / "smoke.yaml"
    local = tmp_path / "resnet18_conv1.yaml"
    shutil.copy(short, local)
    assert resolve_argument("resnet18_conv1.yaml", "problems").resolve() == local


def test_every_bundled_file_has_a_name_that_finds_it():
    for folder in FOLDERS:
        files = {p for p in (library_root() / folder).rglob("*") if p.suffix in YAML_SUFFIXES}
        assert files and set(lookup(folder).values()) == files


def test_fusesat_library_lists_every_bundled_file(capsys):
    assert main(["library"]) == 0
    out = capsys.readouterr().out
    for folder in FOLDERS:
        for path in (library_root() / folder).rglob("*.yaml"):
            assert path.name in out, path


def test_fusesat_library_refuses_an_unknown_folder(capsys):
    assert main(["library", "gadgets"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "gadgets" in err and "accelerators" in err


def test_fusesat_library_env_override(tmp_path, monkeypatch):
    (tmp_path / "accelerators").mkdir()
    shutil.copy(BUNDLED_EYERISS, tmp_path / "accelerators" / "mine.yaml")
    monkeypatch.setenv("FUSESAT_LIBRARY", str(tmp_path))
    assert lookup("accelerators") == {"mine": tmp_path / "accelerators" / "mine.yaml"}


def test_solve_a_bundled_problem_by_name_from_another_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["solve", "resnet18_layer4_0_down", "--workers", "1", "--json", "r.json"]) == 0  # the smallest
    assert main(["verify", "r.json"]) == 0
