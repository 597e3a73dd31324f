"""Fuzzing the bundled files (issue 17 item 7): every leaf field of every bundled
problem, accelerator and network file is replaced by other types, extreme
numbers, long or odd strings, or deleted; every mapping gets an unknown key and
every list a duplicated element (``fuzz_support.mutations``). ``fusesat solve``
must exit 0, 2, 3 or 4 without a traceback, and a refusal is one ``error:``
line naming a file.

The systematic sweep runs in-process (``main`` with captured output, each case
under a SIGALRM bound); of each bundled file's mutations that still load, one
new problem is solved (``SOLVES_PER_FILE``), the others only loaded. Hypothesis
adds random combinations (derandomized); a small sample runs as subprocesses
under an address-space limit and a timeout, so a hang or a memory blow-up fails."""

from __future__ import annotations

import importlib
import os
import re
import resource
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from fuzz_mutations import DELETE, PER_LEAF, apply, leaves, mutations, write
from fuzz_support import COUNT, LIB, ORIGINAL, SOURCES, Sweep, case_files, fingerprint, sweep_source, unknown
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mapper.app.cli import main
from mapper.core.errors import SpecError
from mapper.io import yaml_reader
from mapper.io.loading import load_problem

ROOT = Path(__file__).resolve().parent.parent
SOLVES_PER_FILE = 1  # new problems solved per bundled file in the sweep
RANDOM_EXAMPLES = 60
RANDOM_SOLVES = 8
MEMORY_BYTES = 3 * 2**30
SUBPROCESS_SECONDS = 60  # a solve of --time-limit 2 plus Python's start, with a margin for a loaded machine
MUTATIONS = {source: mutations(ORIGINAL[source]) for source in SOURCES}


@pytest.fixture
def sweep(monkeypatch):
    runner = Sweep(monkeypatch, SOLVES_PER_FILE)
    yield runner
    runner.close()


@pytest.mark.parametrize("source", SOURCES)
def test_every_field_of_every_bundled_file(sweep, tmp_path, source):
    for _, files in case_files(source, ORIGINAL[source], ()):
        sweep.seen_already(tmp_path, files)
    changes = [(label, [(path, value)]) for label, path, value in MUTATIONS[source]]
    failures = sweep_source(sweep, tmp_path, source, changes)
    assert not failures, f"{len(failures)} failures, the first:\n" + "\n".join(failures[:3])


# --------------------------------------------------------------------------- random combinations


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 70),
    st.sampled_from([4096, 4097, 2**20, 2**20 + 1, 2**31, 2**40, 2**40 + 1, 2**60, 10**6, 10**6 + 1]),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.lists(st.integers(0, 8), max_size=3),
    st.dictionaries(st.text(max_size=6), st.integers(0, 4), max_size=2),
    st.just(DELETE),
)


@st.composite
def combinations(draw):
    """A bundled file and 1 to 3 changes: catalogue mutations or random values at random leaves."""
    source = draw(st.sampled_from(SOURCES))
    paths = [path for path, _ in leaves(ORIGINAL[source]) if path]
    catalogue = st.sampled_from(MUTATIONS[source]).map(lambda m: (m[1], m[2]))
    change = st.one_of(catalogue, st.tuples(st.sampled_from(paths), VALUES))
    return source, draw(st.lists(change, min_size=1, max_size=3))


@pytest.fixture
def random_sweep(monkeypatch):
    runner = Sweep(monkeypatch, RANDOM_SOLVES)
    yield runner
    runner.close()


@settings(
    derandomize=True,
    max_examples=RANDOM_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=combinations())
def test_random_combinations_of_mutations(random_sweep, tmp_path, case):
    source, changes = case
    failures = sweep_source(random_sweep, tmp_path, source, [(f"random {changes!r:.300}", changes)])
    assert not failures, failures[0]


# --------------------------------------------------------------------------- subprocesses: memory and time


SAMPLED = {  # file: what to pick of its mutations (a network problem's solve is one per candidate group)
    "problems/layer/resnet18_layer4_0_down.yaml": {"new"},
    "problems/fused/resnet18_layer1_0_block_array16x16.yaml": {"new"},
    "problems/taskgraph/lenet5_c1_s2_c3.yaml": {"new"},
    "problems/network/lenet5_eyeriss_like.yaml": {"refused"},
    "accelerators/edge_tight.yaml": {"new", "refused"},
    "networks/alexnet.yaml": {"new", "refused"},
}
EXTREMES = ("=huge", "=2**63", "=nan", "=inf", "=-inf", "=long string", "=long", "=x1000")


def sample(tmp: Path) -> list[tuple[str, dict]]:
    """Of each SAMPLED file, its first mutation that loads as a new problem, and
    its first extreme one that is refused."""
    picked = []
    for source, wanted in SAMPLED.items():
        original = {
            fingerprint(load_problem(write(tmp, files))) for _, files in case_files(source, ORIGINAL[source], ())
        }
        wanted = set(wanted)
        for label, path, value in MUTATIONS[source]:
            mode, files = case_files(source, apply(ORIGINAL[source], [(path, value)]), path)[0]
            try:
                kind = "new" if fingerprint(load_problem(write(tmp, files))) not in original else "old"
            except SpecError:
                kind = "refused" if label.endswith(EXTREMES) else "other"
            if kind in wanted:
                wanted.discard(kind)
                picked.append((f"{source}:{label} ({kind})", files))
            if not wanted:
                break
    return picked


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))


def start(folder: Path, files: dict) -> subprocess.Popen:
    folder.mkdir()
    target = write(folder, files)
    argv = [sys.executable, "-m", "mapper.app.cli", "solve", str(target), "--time-limit", "2", "--workers", "1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with (folder / "out").open("w") as out, (folder / "err").open("w") as err:  # files: no pipe to fill up
        return subprocess.Popen(argv, cwd=folder, env=env, stdout=out, stderr=err, preexec_fn=limit_memory)


def test_a_sample_in_subprocesses_under_memory_and_time_limits(tmp_path):
    cases = sample(tmp_path)
    assert len(cases) == sum(map(len, SAMPLED.values())), cases
    failures, pending, running = [], list(enumerate(cases)), []
    while pending or running:
        while pending and len(running) < 2:  # two at a time, on the two cores
            index, (label, files) = pending.pop(0)
            running.append((tmp_path / str(index), label, start(tmp_path / str(index), files)))
        folder, label, proc = running.pop(0)
        try:
            code = proc.wait(timeout=SUBPROCESS_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = f"killed after {SUBPROCESS_SECONDS} s"
        out, err = (folder / "out").read_text(), (folder / "err").read_text()
        if code not in (0, 2, 3, 4) or "Traceback" in out + err or (code == 2 and err.count("\n") != 1):
            failures.append(f"{label}: exit {code}\n{err[-2000:]}")
        COUNT["subprocesses"] = COUNT.get("subprocesses", 0) + 1
    failures = unknown(failures)
    assert not failures, "\n".join(failures)


# --------------------------------------------------------------------------- the reader without libyaml


HOSTILE = ["a: 1\na: 2\n", "a: 1\n---\nb: 2\n", "a: &a [1, *a]\n", "a: é\x01\n", "a: [1,\n", "a: *x\n", "b: 1.0e400\n"]


def test_the_reader_without_libyaml_reads_and_refuses_the_same(monkeypatch, tmp_path):
    """The reader takes its events from libyaml where PyYAML has it (what makes the
    sweep affordable); PyYAML's own parser, its fallback, must read every bundled
    file to the same values and refuse hostile text with the same message."""

    def outcomes() -> list:
        found = [yaml_reader.read_yaml(LIB / source) for source in SOURCES if not source.startswith("optional/")]
        for i, text in enumerate(HOSTILE):
            (tmp_path / f"{i}.yaml").write_text(text)
            try:
                found.append(yaml_reader.read_yaml(tmp_path / f"{i}.yaml"))
            except SpecError as err:
                found.append(re.sub(r"invalid YAML \(.*\)", "invalid YAML", str(err)))  # not the parser's wording
        return found

    fast = outcomes()
    monkeypatch.setattr(yaml, "__with_libyaml__", False)
    try:
        assert not importlib.reload(yaml_reader).LIBYAML
        assert outcomes() == fast
    finally:
        monkeypatch.undo()
        importlib.reload(yaml_reader)


# --------------------------------------------------------------------------- bugs found outside mapper/io


def test_a_pinned_group_skipped_by_the_time_budget_is_refused_or_reported(tmp_path, capsys):
    """Found by the sweep: fuse_after pins C1 into a group, the budget skips every
    fused candidate (a short --time-limit does the same); solve_network's search
    for the uncovered layer raised StopIteration. Now: no partition, exit 4."""
    path = tmp_path / "p.yaml"
    path.write_text(
        "mode: network\nnetwork: lenet5\naccelerator: eyeriss_like\nobjective: {latency: 1, dram_words: 1}\n"
        "pin: {fuse_after: [C1]}\npartition: {time_budget_s: 0.000001}\n"
    )
    code = main(["solve", str(path), "--time-limit", "0.1", "--workers", "1"])
    captured = capsys.readouterr()
    assert code in (0, 2, 3, 4) and "Traceback" not in captured.out + captured.err


# --------------------------------------------------------------------------- coverage of the sweep


def test_every_leaf_of_every_file_gets_mutations(capsys):
    for source in SOURCES:
        mutated = Counter(path for _, path, _ in MUTATIONS[source])
        thin = [path for path, _ in leaves(ORIGINAL[source]) if path and mutated[path] < PER_LEAF]
        assert not thin, f"{source}: leaves with fewer than {PER_LEAF} mutations: {thin[:5]}"
    with capsys.disabled():
        print(
            f"\nfuzz: {sum(map(len, MUTATIONS.values()))} mutations of {len(SOURCES)} bundled files; "
            f"{COUNT['cases']} cases run in-process ({COUNT['solved']} solved), "
            f"{COUNT.get('subprocesses', 0)} in subprocesses; {COUNT.get('known bugs', 0)} hit known bugs"
        )
