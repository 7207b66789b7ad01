"""bench/exchange.py: the lines that compare a run's figures with the issue's targets."""

from __future__ import annotations

from typing import Any

from bench.exchange import verdicts


def _run(docs_per_s: float, p95_ms: float) -> dict[str, Any]:
    return {"docs_per_s": docs_per_s, "p95_ms": p95_ms}


def test_throughput_is_judged_at_saturation_and_latency_at_the_target_rate() -> None:
    results = {"postgresql": {**_run(142.0, 124.0), "at_target": _run(99.6, 43.0)}, "sqlite": _run(60.0, 900.0)}
    lines = verdicts(results, {"ratio": 0.99}, rate=0.0, target_rate=100.0)
    assert lines[0].endswith("(saturation): 142.0: met")
    assert "at 100 documents/s offered: 43.0 ms: met" in lines[1]
    assert "closed loop at saturation: p95 124 ms" in lines[1]
    assert lines[2] == "target peak RSS <= 3x the package size: 0.99x: met"


def test_figures_beyond_a_target_are_not_met() -> None:
    results = {"postgresql": {**_run(99.9, 300.0), "at_target": _run(97.0, 100.5)}}
    lines = verdicts(results, {"ratio": 3.2}, rate=0.0, target_rate=100.0)
    assert len(lines) == 3 and all(": NOT met" in line for line in lines)


def test_what_a_run_did_not_measure_is_said() -> None:
    assert "not measured" in verdicts({"sqlite": _run(60.0, 90.0)}, None, rate=0.0, target_rate=100.0)[0]
    lines = verdicts({"postgresql": {**_run(150.0, 110.0), "at_target": _run(80.0, 20.0)}}, None, 0.0, 80.0)
    assert lines[0].endswith(": met") and "not measured" in lines[1] and len(lines) == 2
    open_loop = verdicts({"postgresql": _run(99.0, 40.0)}, None, rate=100.0, target_rate=100.0)
    assert "not measured" in open_loop[0] and open_loop[1].endswith("40.0 ms: met")


def test_a_run_set_up_otherwise_than_the_targets_says_it_does_not_judge_them() -> None:
    import argparse

    from bench.exchange import setup_differences

    issue = argparse.Namespace(clients=16, node_key="rsa")
    assert setup_differences(issue, cores=2) == []
    other = setup_differences(argparse.Namespace(clients=4, node_key="ec"), cores=8)
    assert other == ["4 clients, not 16", "node key ec, not RSA-2048", "8 cores, not 2"]
    results = {"postgresql": {**_run(300.0, 20.0), "at_target": _run(99.0, 5.0)}}
    lines = verdicts(results, None, rate=0.0, target_rate=100.0, differences=other)
    assert lines[0].startswith("this run's setup differs from the one the targets are set for (4 clients, not 16;")
    assert "do not judge them" in lines[0] and len(lines) == 3


def test_api_and_workers_count_http_and_edoc_worker_processes() -> None:
    from argparse import Namespace

    from bench.exchange import topology

    assert topology(Namespace(api=2, workers=1, separate_worker=False)) == (2, 1)
    assert topology(Namespace(api=2, workers=0, separate_worker=False)) == (2, 0)
    # without --api, --workers keeps its old meaning (HTTP processes), --separate-worker adds one edoc worker
    assert topology(Namespace(api=0, workers=2, separate_worker=False)) == (2, 0)
    assert topology(Namespace(api=0, workers=2, separate_worker=True)) == (2, 1)
