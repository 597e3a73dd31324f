"""CP-SAT model of a fused group (docs/fusion.md).

Decisions: the stripe height (one Boolean per candidate height), the PE
policy, per layer its PE columns, its spatial unrolling (a table row) and
whether its weights are resident. Every quantity that depends on the stripe
height (row counts per stripe, windows, DRAM words per stage) is a constant
of that candidate, enforced only when the candidate is chosen. The objective
equals ``mapper.cost.fused.evaluate_fused`` on the decoded mapping.
"""

from __future__ import annotations

from ortools.sat.python import cp_model

from formulations.solution import Solution, run_solver
from mapper.core.group import FusedGroup, FusedMapping, macs_per_row, spatial_options, stage_dependencies, weight_words
from mapper.core.spec import Accelerator, ObjectiveWeights, SolverSettings
from mapper.core.stripes import StripeSchedule, group_consumers
from mapper.cost.fused import glb_budget, stage_dram_words


class FusedModel:
    def __init__(
        self,
        group: FusedGroup,
        accelerator: Accelerator,
        weights: ObjectiveWeights,
        policy: str | None = None,
        heights: tuple[int, ...] | None = None,
        latency_cap: int | None = None,
        dram_cap: int | None = None,
    ):
        self.group, self.accelerator, self.weights = group, accelerator, weights
        self.layers = group.layers
        self.consumers = group_consumers(group.layers)
        self.model = cp_model.CpModel()
        out_rows = self.layers[-1].bounds["P"]
        self.heights = heights or tuple(range(1, out_rows + 1))
        self.schedules = {h: StripeSchedule(self.layers, h) for h in self.heights}
        self.macs = sum(layer.macs for layer in self.layers)
        total_words = sum(weight_words(layer) * out_rows for layer in self.layers)
        self.horizon = (
            self.macs + sum(layer.tensor_words("O") + layer.tensor_words("I") for layer in self.layers) + total_words
        )
        self.add_stripe_choice()
        self.add_policy(policy)
        self.add_partitions()
        self.add_spatial_tables()
        self.add_residency()
        self.add_capacity()
        self.add_dram_traffic()
        self.add_latency()
        if latency_cap is not None:
            self.model.add(self.latency <= latency_cap)
        if dram_cap is not None:
            self.model.add(self.dram_words <= dram_cap)
        self.set_objective()

    # ------------------------------------------------------------------ decisions

    def add_stripe_choice(self) -> None:
        """Exactly one candidate height h is chosen: sum_h z[h] = 1."""
        self.choose = {h: self.model.new_bool_var(f"height_{h}") for h in self.heights}
        self.model.add_exactly_one(self.choose.values())

    def add_policy(self, pinned: str | None) -> None:
        """partitioned (a Boolean) or time-shared; fixed when the problem pins it."""
        self.partitioned = self.model.new_bool_var("partitioned")
        if pinned is not None:
            self.model.add(self.partitioned == int(pinned == "partitioned"))

    def add_partitions(self) -> None:
        """Partitioned: sum_k columns[k] <= PE cols. Time-shared: columns[k] = PE cols."""
        cols = self.accelerator.pe_cols
        self.columns = [self.model.new_int_var(1, cols, f"columns_{k}") for k in range(len(self.layers))]
        self.model.add(sum(self.columns) <= cols).only_enforce_if(self.partitioned)
        for c in self.columns:
            self.model.add(c == cols).only_enforce_if(self.partitioned.Not())

    def add_spatial_tables(self) -> None:
        """Per layer, (rows factor, cols factor, cycles per output row) is a row of
        the table of spatial options; cols factor <= columns[k]; cycles per row =
        MACs per output row / (rows factor * cols factor)."""
        acc = self.accelerator
        self.spatial, self.row_cycles = [], []
        for k, layer in enumerate(self.layers):
            options = spatial_options(layer, acc.pe_rows, acc.pe_cols)
            per_row = macs_per_row(layer)
            fr = self.model.new_int_var(1, acc.pe_rows, f"rows_factor_{k}")
            fc = self.model.new_int_var(1, acc.pe_cols, f"cols_factor_{k}")
            cycles = self.model.new_int_var(1, per_row, f"row_cycles_{k}")
            self.model.add_allowed_assignments([fr, fc, cycles], [(r, c, per_row // (r * c)) for r, c in options])
            self.model.add(fc <= self.columns[k])
            self.spatial.append((fr, fc))
            self.row_cycles.append(cycles)

    def add_residency(self) -> None:
        """resident[k]: weights loaded once; else streamed once per stripe.
        Layers without weights are resident."""
        self.resident = []
        for k, layer in enumerate(self.layers):
            var = self.model.new_bool_var(f"resident_{k}")
            if weight_words(layer) == 0:
                self.model.add(var == 1)
            self.resident.append(var)

    # ------------------------------------------------------------------ costs

    def add_capacity(self) -> None:
        """For the chosen h and policy: buffers(h, policy) + weight words <= GLB, with
        weight words = sum_k |W_k| when partitioned, and sum_k resident_k |W_k| +
        2 max_k (1 - resident_k) |W_k| when time-shared."""
        m = self.model
        capacity = self.accelerator.levels["GLB"].capacity_words_total
        sizes = [weight_words(layer) for layer in self.layers]
        largest_stream = m.new_int_var(0, max(sizes), "largest_streamed_weights")
        for k, size in enumerate(sizes):
            m.add(largest_stream >= size).only_enforce_if(self.resident[k].Not())
        shared_weights = sum(r * s for r, s in zip(self.resident, sizes, strict=True)) + 2 * largest_stream
        all_resident = tuple(True for _ in self.layers)
        for h, schedule in self.schedules.items():
            for policy, literal, weights_expr in (
                ("partitioned", self.partitioned, sum(sizes)),
                ("time_shared", self.partitioned.Not(), shared_weights),
            ):
                buffers = glb_budget(self.group, schedule, policy, all_resident)
                fixed = buffers.total - buffers.weights
                if fixed + (sum(sizes) if policy == "partitioned" else 0) > capacity:
                    m.add_bool_or([self.choose[h].Not(), literal.Not()])
                else:
                    m.add(fixed + weights_expr <= capacity).only_enforce_if([self.choose[h], literal])

    def add_dram_traffic(self) -> None:
        """dram_words = fixed(h) + sum_k |W_k| (resident_k + (1 - resident_k) S_h)."""
        m = self.model
        self.dram_words = m.new_int_var(0, self.horizon, "dram_words")
        for h, schedule in self.schedules.items():
            fixed = sum(
                stage_dram_words(self.group, schedule, k, j, True) - (weight_words(layer) if j == 0 else 0)
                for k, layer in enumerate(self.layers)
                for j in range(schedule.stripes)
            )
            weights = sum(
                weight_words(layer) * (schedule.stripes - (schedule.stripes - 1) * self.resident[k])
                for k, layer in enumerate(self.layers)
            )
            m.add(self.dram_words == fixed + weights).only_enforce_if(self.choose[h])

    def add_latency(self) -> None:
        """For the chosen h: d[k][j] >= rows_k(j) * row_cycles[k] and
        d[k][j] * bw >= DRAM words of the stage (ceil). Time-shared: latency >=
        sum d. Partitioned: F[k][j] >= F[dep] + d[k][j] for every stage it
        depends on (stage_dependencies); latency >= F[n-1][S-1]. Always
        latency * bw >= dram_words."""
        m = self.model
        bw = self.accelerator.levels["DRAM"].bandwidth_words_per_cycle
        self.latency = m.new_int_var(0, self.horizon, "latency")
        m.add(self.latency * bw >= self.dram_words)
        n = len(self.layers)
        for h, schedule in self.schedules.items():
            chosen = self.choose[h]
            durations = []
            for k, layer in enumerate(self.layers):
                row = []
                for j in range(schedule.stripes):
                    d = m.new_int_var(0, self.horizon, f"d_{h}_{k}_{j}")
                    rows = schedule.computed_rows(k, j)
                    if rows:
                        m.add(d >= rows * self.row_cycles[k]).only_enforce_if(chosen)
                    base = stage_dram_words(self.group, schedule, k, j, True)
                    words = base if j == 0 else base + weight_words(layer) * (1 - self.resident[k])
                    m.add(d * bw >= words).only_enforce_if(chosen)
                    row.append(d)
                durations.append(row)
            m.add(self.latency >= sum(sum(row) for row in durations)).only_enforce_if([chosen, self.partitioned.Not()])
            finish = [
                [m.new_int_var(0, self.horizon, f"f_{h}_{k}_{j}") for j in range(schedule.stripes)] for k in range(n)
            ]
            for j in range(schedule.stripes):
                for k in range(n):
                    d = durations[k][j]
                    m.add(finish[k][j] >= d)
                    for p, q in stage_dependencies(self.consumers, k, j):
                        m.add(finish[k][j] >= finish[p][q] + d)
            m.add(self.latency >= finish[n - 1][schedule.stripes - 1]).only_enforce_if([chosen, self.partitioned])

    def add_pins(self, pins: dict) -> None:
        """Pinned decisions: the stripe height; each listed layer's weight
        residency; each listed layer's PE columns (fewer than the array's
        implies the partitioned policy, since time-sharing gives every layer all)."""
        if "stripe_rows" in pins:
            self.model.add(self.choose[pins["stripe_rows"]] == 1)
        names = [layer.name for layer in self.layers]
        for name, resident in pins.get("resident", {}).items():
            self.model.add(self.resident[names.index(name)] == int(resident))
        for name, columns in pins.get("columns", {}).items():
            self.model.add(self.columns[names.index(name)] == columns)

    def set_objective(self) -> None:
        """minimise w_lat latency + w_dram dram_words (energy is not modelled in fused mode)."""
        self.model.minimize(self.weights.of(self.latency, self.dram_words))

    # ------------------------------------------------------------------ solving

    def solve(self, settings: SolverSettings) -> Solution[FusedMapping]:
        """Without a solution the bound is None, whatever the status."""
        return run_solver(self.model, settings, self.decode)

    def decode(self, solver: cp_model.CpSolver) -> FusedMapping:
        height = next(h for h, var in self.choose.items() if solver.boolean_value(var))
        partitioned = solver.boolean_value(self.partitioned)
        return FusedMapping(
            stripe_rows=height,
            policy="partitioned" if partitioned else "time_shared",
            columns=tuple(solver.value(c) for c in self.columns),
            spatial=tuple((solver.value(r), solver.value(c)) for r, c in self.spatial),
            resident=tuple(solver.boolean_value(r) for r in self.resident),
        )
