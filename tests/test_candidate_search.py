"""The candidate search of network mode with two lanes (two candidates solved at
once, one CP-SAT worker each) against one lane: the same candidates in the same
order, each with the same status, objective and bound, and the same partition."""

from __future__ import annotations

from dataclasses import replace

from conftest import DETERMINISTIC

from mapper.io.library import library_root
from mapper.io.loading import load_problem
from mapper.solve.api import solve


def test_two_lanes_give_the_answers_of_one(tmp_path):
    source = library_root() / "problems" / "network" / "lenet5_array32x32.yaml"
    problem_file = tmp_path / "range.yaml"  # two layers of the bundled network problem
    problem_file.write_text(source.read_text().replace("mode: network", "mode: network\nlayers: [C3, S4]"))
    problem = load_problem(problem_file)
    one = solve(problem, DETERMINISTIC)
    two = solve(problem, replace(DETERMINISTIC, workers=2))
    assert one.proven_optimal and two.proven_optimal
    assert (two.objective, two.bound) == (one.objective, one.bound)

    def outline(result):
        fields = ("layers", "status", "objective", "bound", "proven_optimal", "reused_from")
        return [{f: c[f] for f in fields} for c in result.details["candidates"]]

    assert len(outline(one)) == 3 and outline(two) == outline(one)
    assert two.solver.workers == 2
    assert [g["layers"] for g in two.mapping["groups"]] == [g["layers"] for g in one.mapping["groups"]]
