"""``Pipeline.build``: a pipeline written in Python round-trips through ``to_yaml`` and ``pipex.load``."""

from __future__ import annotations

from pathlib import Path

import pytest

import pipex
from pipex.errors import PipelineError


def test_built_pipeline_round_trips_through_load(tmp_path: Path) -> None:
    p = pipex.Pipeline.build("geodata", "Geo data", root=tmp_path)
    download = p.step("download", uses="shell", with_={"run": "wget x", "packages": ["wget"]}, allow_network=True)
    p.step("extract", image="alpine:3.20", cmd=["unzip", "/input/download/x.zip"], inputs=[download], if_="true")
    (tmp_path / "pipeline.yml").write_text(p.to_yaml())
    loaded = pipex.load(tmp_path / "pipeline.yml")
    assert loaded.to_dict() == p.pipeline().to_dict()
    assert loaded.dependencies("extract") == ["download"]
    assert loaded.step("extract").if_ == "true"


def test_builder_reports_every_problem_of_the_graph(tmp_path: Path) -> None:
    p = pipex.Pipeline.build("x", root=tmp_path)
    p.step("a", image="alpine:3.20", cmd=["true"], inputs=["missing"])
    with pytest.raises(PipelineError, match='unknown step "missing"'):
        p.to_yaml()


def test_the_builder_makes_outputs_routing_and_fan_out(tmp_path: Path) -> None:
    p = pipex.Pipeline.build("dyn", root=tmp_path)
    listing = p.step("list", image="alpine:3.20", cmd=["list"], outputs=["files"])
    each = p.step(
        "each",
        image="alpine:3.20",
        cmd=["sh", "-c", "wc -l ${{ item }}"],
        inputs=[listing],
        foreach="steps.list.outputs.files",
        max_parallel=2,
        fail_fast=True,
    )
    p.step("big", image="alpine:3.20", cmd=["b"], inputs=[each, listing], if_='steps.list.outputs.files[0] == "a"')
    p.step("grid", image="alpine:3.20", cmd=["g ${{ matrix.x }}"], matrix={"x": [1, 2]})
    (tmp_path / "pipeline.yml").write_text(p.to_yaml())
    loaded = pipex.load(tmp_path / "pipeline.yml")
    assert loaded.to_dict() == p.pipeline().to_dict()
    step = loaded.step("each")
    assert (step.foreach, step.max_parallel, step.fail_fast) == ("steps.list.outputs.files", 2, True)
    assert loaded.step("grid").matrix == {"x": [1, 2]}
