"""Input limits: the largest value every numeric field accepts, and the sizes
the models built from a layer or a problem may reach (docs/problem_format.md,
"Limits").

The field limits keep every number the loader and the cost models compute
small enough for Python to handle quickly and for CP-SAT to hold exactly;
they are generous for real CNNs (VGG16, ResNet-50 and MobileNetV2 at batch
64 on 1024 x 1024 inputs load). The model checks (``check_layer``,
``check_problem``) refuse the combinations whose CP-SAT models would not
fit in int64: a domain beyond ``SOLVER_DOMAIN`` or a linear expression (the
objective with its weights, a bandwidth constraint) beyond ``SOLVER_SUM``.
"""

from __future__ import annotations

from math import prod

from mapper.core.enums import Mode
from mapper.core.errors import SpecError
from mapper.core.group import FUSABLE_KINDS, weight_words
from mapper.core.problem import Problem
from mapper.core.spec import MAPPABLE_KINDS, Layer

MAX_INTEGER = 2**40  # any integer field without a tighter limit below
MAX_PE = 4096  # PE array rows and cols (accelerators, pe_array overrides, task-graph clusters)
MAX_WORD_BITS = 64
MAX_WORDS = 2**40  # capacities, glb_words, memory_words, memory_cap; every tensor of a layer
MAX_BANDWIDTH = 2**20  # bandwidth_words_per_cycle, link_words_per_cycle
MAX_ENERGY_PJ = 10**6  # mac_energy_pj, energy_pj_per_word
MAX_WEIGHT = 10**6  # objective and task-graph weights
MAX_CHANNELS = 2**20  # input channels, out_channels, groups
MAX_FMAP = 4096  # feature-map rows and cols: the network input and every layer's output
MAX_BATCH = 1024
MAX_PADDING = 1024
MAX_STRIDE = 4096  # stride and dilation
MAX_KERNEL = MAX_FMAP + 2 * MAX_PADDING  # a kernel also fits the padded input (checked per layer)
MAX_FLAT = 2**24  # inputs of a fully connected layer (channels x rows x cols of what it flattens)
MAX_MACS = 2**42  # per layer
MAX_SECONDS = 10**6  # time_limit_s, deterministic_time, time_budget_s
MAX_WORKERS = 256
MAX_SEED = 2**31 - 1  # CP-SAT's random_seed is a 32-bit integer
MAX_CLUSTERS = 64
MAX_SLICES = 64  # task-graph slicing rows, cols, channels
MAX_TASKS_PER_LAYER = 64  # rows x cols x channels of one layer's slicing
MAX_TASK_CLUSTER_PAIRS = 4096  # all tasks x clusters (the model has an interval per pair)
MAX_GROUP_LAYERS = 64  # partition.max_group_layers
MAX_TILED_CONFIGURATIONS = 20_000  # tile sizes x (overlaps x weight policies) ^ layers of a tiled fused group
MAX_FUSED_STAGES = 2**18  # layers x stripes over every candidate stripe height of a fused group
SOLVER_DOMAIN = 2**60  # the largest CP-SAT domain (formulations.variables.INT_LIMIT)
SOLVER_SUM = 2**62  # the largest sum of |coefficient| x bound in one CP-SAT expression (int64 with a margin)


def shown(n: int) -> str:
    """A limit as written in the docs: 2**40 for a power of two above 65536, else the digits."""
    if n > 2**16 and n & (n - 1) == 0:
        return f"2**{n.bit_length() - 1}"
    return str(n)


def magnitude(n: int) -> str:
    """Roughly how large ``n`` is, as a power of two."""
    return f"2**{max(n - 1, 1).bit_length()}"


# --------------------------------------------------------------------------- one layer


def check_layer(f, layer: Layer) -> None:
    """Refuse a layer whose feature maps, flattened inputs, MACs or tensors
    exceed the limits; ``f`` is the layer's Fields (for the error path)."""
    b = layer.bounds
    for axis, dim in (("rows", "P"), ("cols", "Q")):
        if b[dim] > MAX_FMAP:
            raise f.fail(
                "padding",
                f"{layer.name} outputs {b[dim]} {axis}; at most {MAX_FMAP} are supported",
                "use less padding or a smaller input",
            )
    if layer.kind == "fc" and b["C"] > MAX_FLAT:
        raise SpecError(
            f.source,
            f.path,
            f"{layer.name} flattens {b['C']} inputs; at most {shown(MAX_FLAT)} are supported",
            "pool the input first",
        )
    if layer.macs > MAX_MACS:
        raise _refuse(f, f"{layer.name} has {layer.macs} MACs; at most {shown(MAX_MACS)} are supported")
    for tensor in layer.tensors:  # the input as the referee's reference holds it: padded, every row
        words = prod(layer.tensor_shape(tensor))
        if words > MAX_WORDS:
            raise _refuse(f, f"{layer.name} has {words} words of {tensor}; at most {shown(MAX_WORDS)} are supported")


def _refuse(f, problem: str) -> SpecError:
    return SpecError(f.source, f.path, problem, "use a smaller layer (batch, channels or feature map)")


# --------------------------------------------------------------------------- the models of a problem


def layer_model_bound(layer: Layer) -> int:
    """The bound of every traffic term of the single-layer model (its ``cap``):
    4 MACs (stride + dilation)^2 + 4 * the words of the layer's tensors."""
    reach = max(layer.stride) + max(layer.dilation)
    return 4 * layer.macs * reach * reach + 4 * sum(layer.tensor_words(t) for t in layer.tensors)


def fused_model_bound(layers: tuple[Layer, ...]) -> int:
    """The horizon of the fused model of ``layers``: MACs + input and output
    words + every weight streamed once per output row of the last layer."""
    rows = layers[-1].bounds["P"]
    tensors = sum(layer.tensor_words("O") + layer.tensor_words("I") for layer in layers)
    return sum(layer.macs for layer in layers) + tensors + sum(weight_words(layer) * rows for layer in layers)


def fused_stages(layers: tuple[Layer, ...]) -> int:
    """Stages (layer, stripe) of the fused model over every stripe height h of
    the last layer's P output rows: len(layers) * sum_h ceil(P / h)."""
    rows = layers[-1].bounds["P"]
    return len(layers) * sum(-(-rows // h) for h in range(1, rows + 1))


def _layer_terms(problem: Problem, layer: Layer) -> list[tuple[str, int, int]]:
    acc, w = problem.accelerator, problem.objective
    cap = layer_model_bound(layer)
    levels = acc.levels
    bandwidth = max(levels["DRAM"].bandwidth_words_per_cycle, levels["GLB"].bandwidth_words_per_cycle)
    energy = 0
    if w.energy:
        per_word = sum(levels[n].energy_fj_per_word for n in ("DRAM", "GLB", "GLB", "RF"))
        energy = per_word * cap + acc.mac_energy_fj * layer.macs
    return [
        ("its latency", 3 * cap, SOLVER_DOMAIN),
        ("its energy (fJ)", energy, SOLVER_DOMAIN),
        ("its traffic times the bandwidth", (bandwidth + 1) * cap, SOLVER_SUM),
        ("its weighted objective", (3 * w.latency + w.dram_words) * cap + w.energy * energy, SOLVER_SUM),
    ]


def _fused_terms(problem: Problem, layers: tuple[Layer, ...]) -> list[tuple[str, int, int]]:
    w, horizon = problem.objective, fused_model_bound(layers)
    bandwidth = problem.accelerator.levels["DRAM"].bandwidth_words_per_cycle
    return [
        ("its latency", horizon, SOLVER_DOMAIN),
        ("its traffic times the bandwidth", (bandwidth + 1) * horizon, SOLVER_SUM),
        ("its weighted objective", (w.latency + w.dram_words) * horizon, SOLVER_SUM),
    ]


def _taskgraph_terms(problem: Problem) -> list[tuple[str, int, int]]:
    spec = problem.taskgraph
    bound = 0
    for layer in problem.layers:
        rows, cols, channels = spec.slicing[layer.name]
        tasks = rows * cols * channels
        bound += layer.macs + tasks * (layer.tensor_words("I") + layer.tensor_words("O"))
    weight = spec.makespan_weight + spec.memory_weight if spec.objective == "weighted" else 1
    return [
        ("its makespan", bound, SOLVER_DOMAIN),
        ("its workload over the clusters", 2 * len(spec.platform.clusters) * bound, SOLVER_SUM),
        ("its weighted objective", weight * bound, SOLVER_SUM),
    ]


def _check(top, field: str, what: str, terms: list[tuple[str, int, int]]) -> None:
    for name, value, limit in terms:
        if value > limit:
            raise top.fail(
                field,
                f"the CP-SAT model of {what} needs numbers up to {magnitude(value)} for {name}; "
                f"at most {shown(limit)} fit",
                "use a smaller layer (batch, channels or feature map), or smaller objective weights or energies",
            )


def _check_fused(top, field: str, problem: Problem, run: tuple[Layer, ...]) -> None:
    what = f"the group {run[0].name}..{run[-1].name}" if len(run) > 1 else run[0].name
    stages = fused_stages(run)
    if stages > MAX_FUSED_STAGES:
        raise top.fail(
            field,
            f"the fused model of {what} has {stages} stripe stages ({len(run)} layers x every stripe height of "
            f"{run[-1].bounds['P']} rows); at most {shown(MAX_FUSED_STAGES)} are supported",
            "fuse fewer layers (partition.max_group_layers in network mode) or use a smaller feature map",
        )
    _check(top, field, what, _fused_terms(problem, run))


def check_problem(top, problem: Problem) -> None:
    """Refuse a problem whose CP-SAT models would exceed int64 (see the module
    docstring); ``top`` is the problem's Fields."""
    layers = problem.layers
    if problem.mode == Mode.LAYER:
        _check(top, "layers[0]", layers[0].name, _layer_terms(problem, layers[0]))
    elif problem.mode == Mode.FUSED:
        _check_fused(top, "layers", problem, layers)
    elif problem.mode == Mode.TASKGRAPH:
        _check(top, "taskgraph", f"the task graph of {layers[0].name}..{layers[-1].name}", _taskgraph_terms(problem))
    else:  # network: every layer alone, and every run of fusable layers a candidate group may take
        longest = problem.partition.max_group_layers
        for i, layer in enumerate(layers):
            if layer.kind in MAPPABLE_KINDS:
                _check(top, "layers", layer.name, _layer_terms(problem, layer))
            run = []
            for other in layers[i : i + longest]:
                if other.kind not in FUSABLE_KINDS:
                    break
                run.append(other)
            if run:
                _check_fused(top, "partition.max_group_layers" if len(run) > 1 else "layers", problem, tuple(run))
