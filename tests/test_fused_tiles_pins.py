"""Pins on 2-D fused tiles (``pin: {tile, overlap, weights}``): the answer keeps them,
its regret is the pinned optimum less the free problem's, solved on its own; pinning
the free answer's own decisions costs nothing; verify checks each pin and the regret;
bad pins are one-line errors."""

from __future__ import annotations

import pytest
import yaml
from test_fused_tiles_cli import solve_json, tiled_problem

from mapper.app.cli import main

PINS = {"tile": [2, 2], "overlap": {"c1": "recompute"}, "weights": {"c2": "per_tile"}}


def pinned_problem(tmp_path, pins):
    path = tiled_problem(tmp_path, glb=300)
    data = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**data, "pin": pins}))
    return path


def test_a_pinned_answer_keeps_its_pins_and_states_its_regret(tmp_path, capsys):
    free = solve_json(tmp_path, tiled_problem(tmp_path, glb=300))
    pinned = solve_json(tmp_path, pinned_problem(tmp_path, PINS))
    mapping = pinned["mapping"]
    assert mapping["tile"] == [2, 2] and mapping["overlap"][1] == "recompute" and mapping["weights"][1] == "per_tile"
    assert pinned["status"] == free["status"] == "OPTIMAL"
    regret = pinned["details"]["regret"]
    assert regret["free_objective"] == free["objective"] and regret["certified"]
    assert regret["regret"] == pinned["objective"] - free["objective"] > 0  # the free optimum does not pin these
    capsys.readouterr()
    assert main(["verify", str(tmp_path / "r.json"), "--functional"]) == 0
    out = capsys.readouterr().out
    assert "pin: tile" in out and "pin: overlap of c1" in out and "regret.regret (free problem re-solved)" in out


def test_pinning_the_free_answer_costs_nothing(tmp_path):
    free = solve_json(tmp_path, tiled_problem(tmp_path, glb=300))["mapping"]
    pins = {"tile": free["tile"], "overlap": {"input": free["overlap"][0]}, "weights": {"c1": free["weights"][0]}}
    assert solve_json(tmp_path, pinned_problem(tmp_path, pins))["details"]["regret"]["regret"] == 0


def test_verify_rejects_an_answer_that_breaks_a_pin(tmp_path, capsys):
    path = pinned_problem(tmp_path, PINS)
    solve_json(tmp_path, path)
    pinned_problem(tmp_path, {**PINS, "tile": [3, 3]})  # the problem file now pins another tile
    assert main(["verify", str(tmp_path / "r.json")]) == 1
    assert "pin: tile" in capsys.readouterr().out


@pytest.mark.parametrize(
    "pins,message",
    [
        ({"tile": [5, 5]}, "pin.tile: 5x5 is not a size of fusion.tiles.sizes"),
        ({"overlap": {"c2": "cache"}}, "pin.overlap.c2: is not a feature map of this group"),
        ({"weights": {"c1": "streamed"}}, "pin.weights.c1: unknown value 'streamed'"),
        ({"stripe_rows": 2}, "pin.stripe_rows: unknown field"),
    ],
)
def test_bad_tile_pins_are_one_line_errors(tmp_path, capsys, pins, message):
    assert main(["solve", str(pinned_problem(tmp_path, pins))]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
