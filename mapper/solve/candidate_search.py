"""The search over every candidate group of network mode (DESIGN 4.3,
docs/network.md): each group solved on its own (``mapper.solve.candidates``),
equal groups solved once, with ``settings.workers`` w >= 2 w groups at once.
A time budget bounds the whole search: the layers alone share it first (each
at most the per-group time limit), then each longer group may take what is
left. Past the budget, or after a stop request (Ctrl-C, ``mapper.core.stop``),
no group is solved any more.
"""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace

from mapper.core import progress, stop
from mapper.core.problem import PartitionSearch, Problem
from mapper.core.spec import SolverSettings
from mapper.cost.limits import compulsory_limits, consumers_of
from mapper.solve.candidates import GroupAnswer, reuse, solve_candidate, unsolved_answer, with_fallback
from mapper.solve.partition import Candidate, Run, candidate_runs


def _report(done: int, candidates: list, candidate, answer: GroupAnswer) -> None:
    """One candidate solved: how many of all are done, and what this one found."""
    detail = f"{'+'.join(candidate.names)}: {answer.status}"
    if answer.objective is not None:
        detail += f" {answer.objective:,}, bound {answer.bound:,}"
    progress.report("candidate groups", done, len(candidates), detail)


def _solve_alone(candidate: Candidate, problem: Problem, settings: SolverSettings, floor: int) -> GroupAnswer:
    """``solve_candidate``, and for a layer alone left unproven its fallback where better."""
    answer = solve_candidate(candidate, problem, settings, floor)
    if len(candidate.layers) == 1 and answer.bound is not None and not answer.proven_optimal:
        answer = with_fallback(answer, candidate, problem)
    return answer


class _Lanes:
    """Candidate solves under way, at most ``lanes`` at once, and the answers so far."""

    def __init__(self, candidates: list[Candidate], lanes: int):
        self.candidates, self.lanes, self.start = candidates, lanes, time.perf_counter()
        self.pool = ThreadPoolExecutor(max_workers=lanes)
        self.running: dict[Future, tuple[Candidate, tuple]] = {}
        self.answers: dict[Run, GroupAnswer] = {}
        self.solved: dict[tuple, GroupAnswer] = {}  # by signature: equal groups are solved once
        self.reused: list[Candidate] = []  # equal to a group solved (or under way) before them
        self.singles_left = len({c.signature() for c in candidates if len(c.layers) == 1})
        self.singletons_done: float | None = None

    def seen(self, key: tuple) -> bool:
        return key in self.solved or any(k == key for _, k in self.running.values())

    def record(self, candidate: Candidate, key: tuple, answer: GroupAnswer, report: bool = True) -> None:
        self.solved[key] = self.answers[candidate.run] = answer
        if report:
            _report(len(self.answers) + len(self.reused), self.candidates, candidate, answer)
        if len(candidate.layers) == 1:
            self.singles_left -= 1
            if self.singles_left == 0:
                self.singletons_done = time.perf_counter() - self.start

    def submit(self, candidate: Candidate, key: tuple, *args) -> None:
        self.running[self.pool.submit(_solve_alone, candidate, *args)] = (candidate, key)

    def collect(self, block: bool) -> None:
        """Record the solves that have ended (with ``block``, wait for one first)."""
        if block and self.running:
            wait(self.running, return_when=FIRST_COMPLETED)
        for future in [f for f in self.running if f.done()]:
            candidate, key = self.running.pop(future)
            self.record(candidate, key, future.result())

    def free_for(self, candidate: Candidate) -> None:
        """Wait for a free lane; a longer group waits until every layer alone is solved."""
        self.collect(block=False)
        while len(self.running) >= self.lanes or (self.running and len(candidate.layers) > 1 and self.singles_left):
            self.collect(block=True)


def solve_candidates(problem: Problem, settings: SolverSettings, search: PartitionSearch):
    """Every candidate's answer, singletons first; returns (candidates, answers,
    seconds until every layer alone was solved). With ``settings.workers`` w >= 2,
    w candidates are solved at once, one CP-SAT worker each (CP-SAT leaves the GIL
    while it searches; one worker proves a layer about as fast as two), and a
    layer's share of the budget is scaled by w."""
    consumers = consumers_of(problem.network)
    candidates = candidate_runs(problem.layers, consumers, search.max_group_layers)
    lanes = _Lanes(candidates, max(1, settings.workers))
    each = replace(settings, workers=1)
    try:
        for candidate in candidates:
            lanes.free_for(candidate)
            floor = compulsory_limits(candidate.layers, consumers, problem.accelerator).objective(problem.objective)
            key = candidate.signature()
            if lanes.seen(key):
                lanes.reused.append(candidate)  # the equal group's answer, once it is there
                continue
            if stop.requested():
                why = f"stopped by {stop.reason()}"
                lanes.record(candidate, key, unsolved_answer(candidate, problem, floor, why), report=False)
                continue
            left = None if search.time_budget_s is None else search.time_budget_s - (time.perf_counter() - lanes.start)
            if left is not None and left <= 0:  # a layer alone takes a fallback mapping: a partition always exists
                unsolved = unsolved_answer(candidate, problem, floor, "time budget spent")
                lanes.record(candidate, key, unsolved, report=False)
                continue
            group_settings = each
            if left is not None:  # the layers alone share the budget; then each longer group may take what is left
                share = min(left, left * lanes.lanes / lanes.singles_left) if len(candidate.layers) == 1 else left
                per_model = share / len(candidate.models)  # solve_candidate solves each of its models
                group_settings = replace(each, time_limit_s=min(settings.time_limit_s, per_model))
            lanes.submit(candidate, key, problem, group_settings, floor)
        while lanes.running:
            lanes.collect(block=True)
    except KeyboardInterrupt:  # no signal handler (the Python API): stop the solves under way, then raise
        stop.request("SIGINT")
        wait(lanes.running)
        stop.clear()
        raise
    finally:
        lanes.pool.shutdown(wait=True)
    answers = lanes.answers
    for candidate in lanes.reused:
        answers[candidate.run] = reuse(lanes.solved[candidate.signature()], candidate, problem)
    done = lanes.singletons_done if lanes.singletons_done is not None else time.perf_counter() - lanes.start
    return candidates, {c.run: answers[c.run] for c in candidates}, done
