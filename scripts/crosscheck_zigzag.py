"""Cross-check fusesat against ZigZag (KULeuven-MICAS/zigzag) on four layers.

ZigZag is not a dependency of fusesat; it runs in its own venv, created once
(zigzag-dse 3.9.1 imports ``six`` without declaring it):

    python -m venv /work/zz-venv && /work/zz-venv/bin/pip install zigzag-dse==3.9.1 six

then, from the repository root, in fusesat's own Python (about 4 minutes):

    python scripts/crosscheck_zigzag.py --venv /work/zz-venv

Per layer on the Eyeriss-like preset: fusesat's recorded optimum
(docs/results/benchmark_makespan.json) in fusesat and, with exactly its tile
boundaries, in ZigZag's cost model; ZigZag's LOMA best (opt=latency, lpf 6,
3 spatial mappings), plain and over mixed spatial mappings, in ZigZag and
translated to the nearest fusesat mapping in fusesat, and that translation
back in ZigZag (which separates the map-space loss from the model). Writes
docs/results/zigzag_crosscheck.json; docs/zigzag.md has the table. The venv's
Python runs this file's ``_zz_*`` side with ``--zigzag-helper``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

ZZ_VERSION = "3.9.1"
LAYERS = (("resnet18", "layer2_1_conv2"), ("resnet18", "layer4_0_down"), ("vgg16", "conv2_1"), ("vgg16", "conv4_1"))
ZZ_DIM = {"N": "B", "K": "K", "C": "C", "P": "OY", "Q": "OX", "R": "FY", "S": "FX"}
FS_DIM = {v: k for k, v in ZZ_DIM.items()}
FS_SCALARS = ("valid", "dram_words", "glb_accesses", "latency_cycles", "compute_cycles", "used_pes")
FS_DICTS = ("dram_reads", "dram_writes", "glb_to_array", "array_to_glb", "visits", "tile_words")
RF_ORDER = ("S", "R", "C", "Q", "P", "K", "N")  # innermost first; fusesat's RF loops have no order


def _zz_run(job: dict, work: Path) -> dict:
    import yaml
    from zigzag.datatypes import LayerDim, LayerOperand
    from zigzag.mapping.data_movement import DataMoveAttr
    from zigzag.mapping.temporal_mapping import TemporalMapping, TemporalMappingType
    from zigzag.stages.evaluation.cost_model_evaluation import CostModelStage
    from zigzag.stages.main import MainStage
    from zigzag.stages.mapping.spatial_mapping_generation import SpatialMappingGeneratorStage
    from zigzag.stages.mapping.temporal_mapping_generator_stage import TemporalMappingGeneratorStage as Tm
    from zigzag.stages.parser.accelerator_parser import AcceleratorParserStage
    from zigzag.stages.parser.workload_parser import WorkloadParserStage
    from zigzag.stages.results.reduce_stages import MinimalLatencyStage, SumStage
    from zigzag.stages.workload_iterator import WorkloadStage

    work.mkdir()
    for key in ("accelerator", "workload", "mapping"):
        (work / f"{key[:2]}.yaml").write_text(yaml.safe_dump(job[key], sort_keys=False))
    fixed, original = job.get("temporal"), Tm.generate_temporal_mappings

    def given(self):  # the caller's tile boundaries instead of ZigZag's greedy allocator
        tm = {LayerOperand(op): [[(LayerDim(d), f) for d, f in lv] for lv in lvs] for op, lvs in fixed.items()}
        yield TemporalMapping(tm, self.layer, self.mapping_type)

    if fixed is not None:
        Tm.generate_temporal_mappings = given
    stages = [WorkloadParserStage, AcceleratorParserStage, SumStage, WorkloadStage, MinimalLatencyStage]
    stages += [SpatialMappingGeneratorStage, MinimalLatencyStage, Tm, CostModelStage]
    started = time.perf_counter()
    try:  # api.get_hardware_performance_zigzag's stages without saving, plots and inter-layer locality
        files = {k: str(work / f"{k[:2]}.yaml") for k in ("accelerator", "workload", "mapping")}
        opts = {"loma_lpf_limit": job.get("lpf", 6), "loma_show_progress_bar": False, "nb_mappings_generated": 3}
        opts |= {"enable_mix_spatial_mapping_generation": job.get("mix", False), "dump_folder": str(work / "out")}
        opts |= {"access_same_data_considered_as_no_access": True, "temporal_mapping_type": TemporalMappingType.UNEVEN}
        cmes = MainStage(stages, **files, **opts).run()
    finally:
        Tm.generate_temporal_mappings = original
    cme = cmes[0][1][0][0]
    A = DataMoveAttr
    c, a, n = A.DATA_ELEM_MOVE_COUNT, A.DATA_TRANS_AMOUNT_PER_PERIOD, A.DATA_TRANS_PERIOD_COUNT
    moves, sent, units = {}, {}, cme.mapping.spatial_mapping.unit_count
    for op, lvs in cme.mapping.unit_mem_data_movement.items():  # sent: the words behind ZigZag's energy
        got = [{x: lv.get_attribute(x).data for x in (c, a, n)} for lv in lvs]
        moves[str(op)] = [{str(k): int(v) for k, v in g[c].items()} for g in got]
        sent[str(op)] = [
            {str(k): int(v * g[n][k] * units[op][i + 1]) for k, v in g[a].items()} for i, g in enumerate(got)
        ]
    tm, sm = cme.temporal_mapping.mapping_dic_origin, cme.layer.spatial_mapping
    scalars = "latency_total2 latency_total0 ideal_cycle ideal_temporal_cycle stall_slack_comb data_onloading_cycle"
    scalars += " data_offloading_cycle energy_total mac_energy mac_spatial_utilization"
    return {
        "wall_s": time.perf_counter() - started,
        **{k: float(getattr(cme, k)) for k in scalars.split()},
        "mem_energy_breakdown_pj": {str(k): [float(x) for x in v] for k, v in cme.mem_energy_breakdown.items()},
        "elem_moves": moves,
        "sent_words": sent,
        "double_buffer": {str(k): list(v) for k, v in cme.double_buffer_true.items()},
        "spatial": {str(oa): [[str(d), float(f)] for d, f in m.items()] for oa, m in sm.items()},
        "temporal": {str(op): [[[str(d), int(f)] for d, f in lv] for lv in lvs] for op, lvs in tm.items()},
    }


def _zz_main() -> None:
    logging.disable(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as tmp:
        out = [_zz_run(job, Path(tmp) / str(i)) for i, job in enumerate(json.loads(sys.stdin.read()))]
    print("\n@@JSON@@" + json.dumps(out))


def zz_hardware(acc) -> dict:
    """ZigZag accelerator: 12x14 PEs, per-PE RFs split per tensor, one shared GLB, DRAM."""
    b, lv = acc.word_bits, acc.levels

    def mem(level, words, ops, served, *ps):  # ZigZag charges r_cost per access of bandwidth_max bits
        bw = lv[level].bandwidth_words_per_cycle
        e = lv[level].energy_fj_per_word / 1000 * bw
        ports = [{"name": n, "type": t, "bandwidth_min": b, "bandwidth_max": bw * b, "allocation": a} for n, t, a in ps]
        spec = {"size": words * b, "r_cost": e, "w_cost": e, "area": 0, "latency": 1, "operands": ops}
        return {**spec, "ports": ports, "served_dimensions": served}

    rf, ops, both = lv["RF"].capacity_words, ["I1", "I2", "O"], ["D1", "D2"]
    mems = {
        f"rf_{t}": mem("RF", rf[t], [op], [], ("r_port_1", "read", [f"{op}, tl"]), ("w_port_1", "write", [f"{op}, fh"]))
        for t, op in (("I", "I1"), ("W", "I2"))
    }
    o_ports = ("r_port_1", "read", ["O, tl", "O, th"]), ("w_port_1", "write", ["O, fl", "O, fh"])
    mems["rf_O"] = mem("RF", rf["O"], ["O"], [], *o_ports)
    low, high = ["I1, tl", "I2, tl", "O, tl", "O, fl"], ["I1, fh", "I2, fh", "O, fh", "O, th"]
    # array side and DRAM side of the GLB are separate channels, as in fusesat; DRAM's port limits the latter
    mems["glb"] = mem(
        "GLB", lv["GLB"].capacity_words, ops, both, ("rw_port_1", "read_write", low), ("rw_port_2", "read_write", high)
    )
    mems["dram"] = mem("DRAM", 10**12 // b, ops, both, ("rw_port_1", "read_write", low))
    array = {"unit_energy": acc.mac_energy_fj / 1000, "unit_area": 0, "dimensions": both}
    array["sizes"] = [acc.pe_rows, acc.pe_cols]
    return {"name": "eyeriss_like_fusesat", "memories": mems, "operational_array": array}


def zz_workload(layer) -> list[dict]:
    """One Conv layer; the input is the padded one (no ZigZag padding), as fusesat stores it."""
    b = layer.bounds
    assert b["G"] == 1, "grouped layers are not translated"
    (sh, sw), (dh, dw) = layer.stride, layer.dilation
    spec = {"id": 0, "name": layer.name, "operator_type": "Conv"}
    spec["equation"] = "O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][iy][ix]"
    spec["dimension_relations"] = [f"ix={sw}*ox+{dw}*fx", f"iy={sh}*oy+{dh}*fy"]
    spec |= {"loop_dims": [ZZ_DIM[d] for d in ZZ_DIM], "loop_sizes": [b[d] for d in ZZ_DIM]}
    spec["operand_precision"] = {"W": 16, "I": 16, "O": 16, "O_final": 16}  # partial sums too, as in fusesat
    return [{**spec, "operand_source": {"W": 0, "I": 0}}]  # both from DRAM


def zz_mapping(spatial: dict | None) -> list[dict]:
    m = {"name": "default", "memory_operand_links": {"O": "O", "W": "I2", "I": "I1"}}
    return [m if spatial is None else {**m, "spatial_mapping": spatial}]


def fusesat_to_zz(mapping) -> tuple[dict, dict]:
    """Spatial ROW -> D1, COL -> D2; RF, GLB, DRAM loops -> levels 0, 1, 2 of every operand."""
    f = mapping.factors
    spatial = {}
    for lv, oa in (("ROW", "D1"), ("COL", "D2")):
        loops = [f"{ZZ_DIM[d]}, {f[lv][d]}" for d in ZZ_DIM if f[lv][d] > 1]
        spatial[oa] = loops or ["K, 1"]
    rf = [[ZZ_DIM[d], f["RF"][d]] for d in RF_ORDER if f["RF"][d] > 1]
    glb = [[ZZ_DIM[d], f["GLB"][d]] for d in reversed(mapping.orders["GLB"]) if d in ZZ_DIM and f["GLB"][d] > 1]
    dram = [[ZZ_DIM[d], f["DRAM"][d]] for d in reversed(mapping.orders["DRAM"]) if d in ZZ_DIM and f["DRAM"][d] > 1]
    return spatial, {op: [rf, glb, dram] for op in ("W", "I", "O")}


def zz_to_fusesat(zz: dict, layer, accelerator) -> tuple[object, dict]:
    """Nearest valid fusesat mapping of a ZigZag mapping: same spatial unrolling (rounded down to divisors),
    same loop order, loops shrunk to divisors; a dim split over several loops of one level becomes one loop
    at its outermost position. One boundary per level for all tensors: the best (fusesat objective) valid
    cut between the operands' boundaries, else anywhere."""
    from mapper.core.mapping import DIMS, LOOP_LEVELS, Mapping, canonical_order, divisors
    from mapper.cost.layer import evaluate

    bounds, spatial, used, rounded = layer.bounds, {"ROW": {}, "COL": {}}, dict.fromkeys(DIMS, 1), []
    for oa, lv in (("D1", "ROW"), ("D2", "COL")):
        for d, s in zz["spatial"].get(oa, []):
            fd = FS_DIM[d]
            g = max(x for x in divisors(bounds[fd] // used[fd]) if x <= int(s))
            spatial[lv][fd] = spatial[lv].get(fd, 1) * g
            used[fd] *= g
            if g != s:
                rounded.append(f"{lv} {fd} {s:g} -> {g}")
    order = [loop for lv in zz["temporal"]["W"] for loop in lv]  # innermost first, same for every operand
    cuts = {op: [len(lvs[0]), len(lvs[0]) + len(lvs[1])] for op, lvs in zz["temporal"].items()}
    lo = [min(c[i] for c in cuts.values()) for i in (0, 1)]
    hi, best, n = [max(c[i] for c in cuts.values()) for i in (0, 1)], None, len(order)
    for grow, b1, b2 in ((g, i, j) for g in (True, False) for i in range(n + 1) for j in range(i, n + 1)):
        factors = {lv: {d: spatial.get(lv, {}).get(d, 1) for d in DIMS} for lv in LOOP_LEVELS}
        left = {d: bounds[d] // (factors["ROW"][d] * factors["COL"][d]) for d in DIMS}
        outer, shrunk, level = {"GLB": [], "DRAM": []}, [], {}
        for i, (d, size) in enumerate(order):
            fd, lv = FS_DIM[d], ("RF" if i < b1 else "GLB" if i < b2 else "DRAM")
            g = max(x for x in divisors(left[fd]) if x <= size)
            factors[lv][fd], left[fd], level[fd] = factors[lv][fd] * g, left[fd] // g, lv
            if g != size:
                shrunk.append(f"{lv} {fd} {size} -> {g}")
            if lv in outer and g > 1:
                outer[lv] = [fd] + [e for e in outer[lv] if e != fd]
        for d in DIMS:  # the rest: grows the dim's outermost loop, or a new outermost DRAM loop
            lv = level.get(d, "DRAM") if grow else "DRAM"
            factors[lv][d] *= left[d]
            if left[d] > 1 and lv != "RF" and d not in outer[lv]:
                outer[lv].insert(0, d)
        m = Mapping(factors, {lv: canonical_order(outer[lv]) for lv in ("DRAM", "GLB")})
        cost = evaluate(layer, accelerator, m)
        inside = lo[0] <= b1 <= hi[0] and lo[1] <= b2 <= hi[1]
        key = (not cost.valid, not inside, cost.latency_cycles + cost.dram_words)
        if best is None or key < best[0]:
            how = {"rf_cut": b1, "glb_cut": b2, "operand_cuts": cuts, "cuts_inside": inside, "rest_grows": grow}
            best = (key, m, {**how, "spatial_rounded": rounded, "loops_shrunk": shrunk, "rest": left})
    return best[1], best[2]


def fs_metrics(layer, acc, mapping) -> dict:
    from mapper.cost.layer import evaluate
    from mapper.cost.layer_latency import layer_latency

    c = evaluate(layer, acc, mapping)
    return {
        "latency_terms": asdict(layer_latency(layer, acc, mapping)),
        **{k: getattr(c, k) for k in FS_SCALARS},
        **{k: dict(getattr(c, k)) for k in FS_DICTS},
        "violations": list(c.violations),
        "energy_pj": c.energy_fj / 1000,
        "mapping": mapping.to_dict(),
    }


def zz_summary(r: dict) -> dict:
    """DRAM words per tensor from ZigZag's element moves at its top level."""
    top = {op: lvs[-1] for op, lvs in r["elem_moves"].items()}
    reads, writes = {t: top[t]["rd_out_to_low"] for t in "WIO"}, {"O": top["O"]["wr_in_by_low"]}
    used = math.prod(f for loops in r["spatial"].values() for _, f in loops)
    return {
        "dram_reads": reads,
        "dram_writes": writes,
        "dram_words": sum(reads.values()) + writes["O"],
        "used_pes": used,
    }


def run_zigzag(venv: Path, jobs: list[dict]) -> list[dict]:
    helper = [str(venv / "bin" / "python"), __file__, "--zigzag-helper"]
    proc = subprocess.run(helper, input=json.dumps(jobs), capture_output=True, text=True, check=False)
    if proc.returncode != 0 or "@@JSON@@" not in proc.stdout:
        sys.exit(f"ZigZag helper failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.split("@@JSON@@")[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--venv", type=Path, default=Path("/work/zz-venv"))
    ap.add_argument("--lpf", type=int, default=6)
    ap.add_argument("--out", type=Path, default=Path("docs/results/zigzag_crosscheck.json"))
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from benchmark_semantics import problems

    from mapper.core.mapping import Mapping

    started = time.perf_counter()
    recorded = json.loads(Path("docs/results/benchmark_makespan.json").read_text())["rows"]
    rows = []
    for net, name, acc_name, problem in problems():
        if (net, name) not in LAYERS or acc_name != "eyeriss_like":
            continue
        layer, acc = problem.layers[0], problem.accelerator
        rec = next(r for r in recorded if (r["network"], r["layer"], r["accelerator"]) == (net, name, acc_name))
        fs_opt = Mapping.from_dict(rec["mapping"])
        spatial, temporal = fusesat_to_zz(fs_opt)
        base = {"accelerator": zz_hardware(acc), "workload": zz_workload(layer)}
        jobs = [{**base, "mapping": zz_mapping(spatial), "temporal": temporal}]
        jobs += [{**base, "mapping": zz_mapping(None), "lpf": args.lpf, "mix": mix} for mix in (False, True)]
        zz_fixed, *zz_loma = run_zigzag(args.venv, jobs)
        row = {"network": net, "layer": name, "accelerator": acc_name, "recorded_objective": rec["objective"]}
        row["fusesat_opt_in_fusesat"] = fs_metrics(layer, acc, fs_opt)
        row["fusesat_opt_in_zigzag"] = {**zz_summary(zz_fixed), "raw": zz_fixed}
        keys, back = ("zigzag_best", "zigzag_mixed_best"), []
        for key, zz in zip(keys, zz_loma, strict=True):
            back.append(zz_to_fusesat(zz, layer, acc))
            row[f"{key}_in_zigzag"] = {**zz_summary(zz), "raw": zz}
            row[f"{key}_in_fusesat"] = {**fs_metrics(layer, acc, back[-1][0]), "translation": back[-1][1]}
        jobs = [{**base, "mapping": zz_mapping(sp), "temporal": t} for sp, t in (fusesat_to_zz(m) for m, _ in back)]
        for key, zz in zip(keys, run_zigzag(args.venv, jobs), strict=True):  # the translation, back in ZigZag
            row[f"{key}_in_fusesat_in_zigzag"] = {**zz_summary(zz), "raw": zz}
        rows.append(row)
        print(f"{net} {name}: done at {time.perf_counter() - started:.0f} s", flush=True)
    meta = {"zigzag_dse": ZZ_VERSION, "lpf_limit": args.lpf, "wall_s": time.perf_counter() - started}
    args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    _zz_main() if "--zigzag-helper" in sys.argv else main()
