"""Decode a fused mapping into the schedule IR (feature-map storage).

Program order is stripe by stripe, layer by layer. Per stage (layer k,
stripe j): load its weights (stripe 0 if resident, every stripe if streamed),
the new group-input rows (first layer), the add operand rows from DRAM;
allocate the output rows it computes; compute them on the layer's PE
rectangle (its own column block when partitioned, the array's corner when
time-shared); store the group output; free rows nobody will read again.

Timing: one DMA channel in issue order, ceil(words / bandwidth) cycles per
transfer. A stage starts when its operands are ready, its PEs are free and,
when partitioned, its consumer has finished stripe j - 2 (the producer runs
at most one stripe ahead). Loads wait for the space the GLB budget of
``mapper.cost.fused`` reserves: a row window prefetches one stripe, streamed
weights use one block per layer (partitioned) or two shared blocks
(time-shared), the group output is double-buffered.
"""

from __future__ import annotations

from collections import defaultdict
from math import prod

from mapper.core.arith import ceil_div
from mapper.core.box import Box
from mapper.core.group import FusedGroup, FusedMapping, macs_per_row, stage_dependencies, weight_words
from mapper.core.spec import DIMS, Accelerator
from mapper.core.stripes import GROUP_INPUT, StripeSchedule, group_consumers
from mapper.referee.schedule import Op, Schedule


def fused_schedule_frame(group: FusedGroup) -> Schedule:
    """Tensors, roles and DRAM outputs of a fused group's schedule."""
    shapes, roles, aliases = {}, {}, {}
    for k, layer in enumerate(group.layers):
        b = layer.bounds
        source = group.chain_input(k)
        cols = layer.input_hw[1]
        if source not in shapes:
            shapes[source] = (b["N"], layer.in_channels, layer.in_rows, cols)
        role = {"I": source, "O": layer.name}
        shapes[layer.name] = (b["N"], layer.out_channels, b["P"], b["Q"])
        if weight_words(layer):
            role["W"] = f"{layer.name}.W"
            shapes[role["W"]] = (b["G"], b["K"], b["C"], b["R"], b["S"])
        residual = group.residual_input(k)
        if residual and not group.dram_operand(k):
            role["I2"] = residual  # produced inside the group: read on chip
        operand = group.dram_operand(k)
        if operand:
            name = operand
            if operand in shapes:  # the same DRAM tensor read twice: a separate on-chip copy
                name = f"{operand}@{layer.name}"
                aliases[name] = operand
            role["I2"] = name
            shapes[name] = (b["N"], layer.in_channels, b["P"], b["Q"])
        roles[layer.name] = role
    return Schedule(
        layers={layer.name: layer for layer in group.layers},
        tensor_shapes=shapes,
        roles=roles,
        dram_outputs=frozenset({group.layers[-1].name}),
        storage="fmap",
        aliases=aliases,
    )


def rows_box(shape: tuple[int, ...], lo: int, hi: int) -> Box:
    return Box(((0, shape[0]), (0, shape[1]), (lo, hi), (0, shape[3])))


class _Decoder:
    def __init__(self, group: FusedGroup, accelerator: Accelerator, mapping: FusedMapping):
        self.group, self.accelerator, self.mapping = group, accelerator, mapping
        self.schedule = fused_schedule_frame(group)
        self.stripes = StripeSchedule(group.layers, mapping.stripe_rows)
        self.bandwidth = accelerator.levels["DRAM"].bandwidth_words_per_cycle
        self.dma_free = 0
        self.finish = defaultdict(int)  # (k, j) -> end of that stage's compute (or its readiness)
        self.blocks = defaultdict(list)  # tensor -> [[start, end, alloc box]] resident row blocks
        self.released = defaultdict(int)  # tensor -> rows below this are freed
        self.stream_frees: list[int] = []  # time-shared: free times of the streamed-weight blocks
        self.consumers = group_consumers(group.layers)

    def op(self, *args, **kwargs) -> Op:
        return self.schedule.add(Op(*args, **kwargs))

    def transfer(self, kind: str, tensor: str, box: Box, earliest: int, stage) -> int:
        start = max(self.dma_free, earliest)
        self.dma_free = start + ceil_div(box.words, self.bandwidth)
        self.op(kind, start, self.dma_free, tensor=tensor, box=box, stage=stage)
        return self.dma_free

    def load_rows(self, tensor: str, lo: int, hi: int, earliest: int, stage) -> int:
        shape = self.schedule.tensor_shapes[tensor]
        box = rows_box(shape, lo, hi)
        self.blocks[tensor].append([lo, hi, box])
        return self.transfer("load", tensor, box, earliest, stage)

    def release_rows(self, tensor: str, upto: int, at: int) -> None:
        """Free every resident row of ``tensor`` below ``upto`` at time ``at``."""
        shape = self.schedule.tensor_shapes[tensor]
        for block in list(self.blocks[tensor]):
            start, end, _ = block
            if start >= upto:
                break
            cut = min(end, upto)
            self.op("free", at, at, tensor=tensor, box=rows_box(shape, start, cut))
            if cut == end:
                self.blocks[tensor].remove(block)
            else:
                block[0] = cut
        self.released[tensor] = max(self.released[tensor], upto)

    def pes(self, k: int) -> tuple[int, int, int, int]:
        rows, cols = self.mapping.spatial[k]
        if self.mapping.policy == "time_shared":
            return (0, rows, 0, cols)
        first = sum(self.mapping.columns[:k])
        return (0, rows, first, first + cols)

    def weights(self, k: int, j: int) -> tuple[int, Box | None]:
        """Load layer k's weights for stripe j if needed; returns (ready time, the loaded box or None)."""
        layer = self.group.layers[k]
        tensor = f"{layer.name}.W"
        if not weight_words(layer) or (self.mapping.resident[k] and j > 0):
            return 0, None
        box = Box(tuple((0, n) for n in self.schedule.tensor_shapes[tensor]))
        earliest = 0
        if not self.mapping.resident[k]:
            if self.mapping.policy == "partitioned":
                earliest = self.finish[k, j - 1] if j else 0
            elif len(self.stream_frees) >= 2:
                earliest = self.stream_frees[-2]
        return self.transfer("load", tensor, box, earliest, (layer.name, j)), box

    def run(self):
        layers, n = self.group.layers, len(self.group.layers)
        stripes = self.stripes
        pe_free = defaultdict(int)
        last_output_frees: list[int] = []
        for j in range(stripes.stripes):
            for k, layer in enumerate(layers):
                stage = (layer.name, j)
                ready, weight_box = self.weights(k, j)
                if k == 0 and stripes.computed_rows(GROUP_INPUT, j):
                    earliest = self.finish[0, j - 2] if j >= 2 else 0
                    source = self.group.chain_input(0)
                    lo, hi = stripes.done_rows(-1, j - 1), stripes.done_rows(-1, j)
                    ready = max(ready, self.load_rows(source, lo, hi, earliest, stage))
                operand = self.schedule.roles[layer.name].get("I2") if self.group.dram_operand(k) else None
                rows = stripes.computed_rows(k, j)
                lo, hi = stripes.done_rows(k, j - 1), stripes.done_rows(k, j)
                if operand and rows:
                    earliest = self.finish[k, j - 2] if j >= 2 else 0
                    ready = max(ready, self.load_rows(operand, lo, hi, earliest, stage))
                waits = [self.finish[dep] for dep in stage_dependencies(self.consumers, k, j)]
                start = max([ready, *waits])
                start = max(start, pe_free[k] if self.mapping.policy == "partitioned" else pe_free["all"])
                if k == n - 1 and len(last_output_frees) >= 2:
                    start = max(start, last_output_frees[-2])
                end = start
                if rows:
                    out_box = rows_box(self.schedule.tensor_shapes[layer.name], lo, hi)
                    self.op("alloc", start, start, tensor=layer.name, box=out_box, stage=stage)
                    self.blocks[layer.name].append([lo, hi, out_box])
                    end = start + rows * (macs_per_row(layer) // prod(self.mapping.spatial[k]))
                    work = Box(tuple((lo, hi) if d == "P" else (0, layer.bounds[d]) for d in DIMS))
                    self.op("compute", start, end, work=work, pes=self.pes(k), layer=layer.name, stage=stage)
                    if k == n - 1:
                        stored = self.transfer("store", layer.name, out_box, end, stage)
                        self.release_rows(layer.name, hi, stored)
                        last_output_frees.append(stored)
                self.finish[k, j] = end
                pe_free["all" if self.mapping.policy == "time_shared" else k] = end
                if weight_box is not None and not self.mapping.resident[k]:
                    self.op("free", end, end, tensor=f"{layer.name}.W", box=weight_box)
                    self.stream_frees.append(end)
                if operand and rows:
                    self.release_rows(operand, hi, end)
            # rows of every on-chip tensor that no consumer reads from stripe j + 1 on
            for t in range(GROUP_INPUT, n - 1):
                upto = stripes.first_needed(t, j + 1) if j + 1 < stripes.stripes else 1 << 60
                done = max(self.finish[c, j] for c in stripes.consumers[t])
                tensor = self.group.chain_input(0) if t < 0 else layers[t].name
                self.release_rows(tensor, upto, done)
        finish_all = max(self.finish.values(), default=0)
        for k, layer in enumerate(layers):
            if weight_words(layer) and self.mapping.resident[k]:
                box = Box(tuple((0, s) for s in self.schedule.tensor_shapes[f"{layer.name}.W"]))
                self.op("free", finish_all, finish_all, tensor=f"{layer.name}.W", box=box)
        return self.schedule


def decode_fused(group: FusedGroup, accelerator: Accelerator, mapping: FusedMapping) -> Schedule:
    schedule = _Decoder(group, accelerator, mapping).run()
    schedule.policy = mapping.policy
    return schedule
