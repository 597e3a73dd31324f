"""The printed objective says what it adds up, with weights and units (issue 18)."""

from mapper.app.render import objective_meaning


def test_weighted_objective_names_its_terms_and_units():
    assert objective_meaning({"latency": 1, "dram_words": 3, "energy": 0}) == "1 x latency cycles + 3 x DRAM words"
    assert objective_meaning({"latency": 0, "dram_words": 0, "energy": 2}) == "2 x energy fJ"


def test_task_graph_objectives_say_what_they_minimise():
    lexicographic = objective_meaning({"objective": "lexicographic", "makespan": 1, "memory": 1})
    assert lexicographic.startswith("peak memory words at the least makespan")
    weighted = objective_meaning({"objective": "weighted", "makespan": 2, "memory": 5})
    assert weighted == "2 x makespan cycles + 5 x peak memory words"
    assert objective_meaning({"objective": "makespan", "makespan": 1, "memory": 1}) == "makespan cycles"
