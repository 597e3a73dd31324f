"""Exact input footprints (DESIGN 4.1): where the stride exceeds the kernel
extent, a tile moves only the rows its windows touch. Checked against a
direct count of the touched positions, and end to end on ResNet-18's
1x1 stride-2 downsample."""

from __future__ import annotations

import itertools

import pytest
from conftest import DETERMINISTIC, make_layer

from mapper.core.enums import Axis
from mapper.io.library import library_root
from mapper.io.loading import load_problem
from mapper.referee.verify import verify_layer_result
from mapper.solve.api import solve_layer

# (stride, dilation, kernel): disjoint and dense windows, dilated or not
WINDOWS = [(2, 1, 1), (3, 1, 2), (4, 2, 2), (5, 1, 3), (2, 1, 3), (1, 2, 3), (2, 2, 2), (3, 1, 3)]


@pytest.mark.parametrize("stride,dilation,kernel", WINDOWS)
def test_tile_rows_are_the_touched_rows_when_windows_are_disjoint(stride, dilation, kernel):
    layer = make_layer(P=6, R=kernel, stride=(stride, 1), dilation=(dilation, 1))
    disjoint = stride > (kernel - 1) * dilation + 1
    assert layer.windows_disjoint(Axis.ROWS) == disjoint
    for outputs, taps in itertools.product(range(1, 7), range(1, kernel + 1)):
        touched = {o * stride + t * dilation for o in range(outputs) for t in range(taps)}
        span = max(touched) + 1
        expected = len(touched) if disjoint else span
        assert layer.input_axis_words(outputs, taps, Axis.ROWS) == expected


def test_resnet18_downsample_reads_only_touched_inputs():
    problem = load_problem(library_root() / "problems" / "layer" / "resnet18_layer4_0_down.yaml")
    layer = problem.layers[0]
    b = layer.bounds
    assert (b["R"], b["S"], layer.stride) == (1, 1, (2, 2))
    result = solve_layer(problem, DETERMINISTIC)
    assert result.proven_optimal
    touched = b["C"] * b["P"] * b["Q"]  # one input word per output position and input channel
    padded_rows, padded_cols = layer.tensor_shape("I")[2:]
    assert 3 * touched < b["C"] * padded_rows * padded_cols  # the box of 13 x 13 rows and cols: 3.45x
    assert result.metrics["dram_reads"]["I"] == touched
    report = verify_layer_result(result.to_json(), layer, problem.accelerator, functional=True)
    assert report.violation is None
