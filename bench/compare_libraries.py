"""The figures in ``pipex/model/handwritten/``'s docstrings: each hand-written parser against the library it replaces.

Run in a scratch environment that has the libraries (they are not pipex dependencies)::

    python3 -m venv /tmp/cmp && /tmp/cmp/bin/pip install pyjexl python-dotenv ruamel.yaml
    PYTHONPATH=.:/tmp/cmp/lib/python3.11/site-packages .venv/bin/python bench/compare_libraries.py

Prints, per part, the probe inputs read differently (``!=``) and the timings (best of three, CPU seconds).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

import yaml
from bench_load import generate

from pipex.model.handwritten.condition import evaluate, parse
from pipex.model.handwritten.dotenv import DotenvError, parse_dotenv
from pipex.model.handwritten.yaml12 import _load_full, load_yaml

YAML_PROBES = [
    "on: push",
    "a: yes",
    "a: off",
    "a: 010",
    "a: 0o17",
    "a: 0x1F",
    "a: 1e3",
    "a: 12:30",
    "a: 1_000",
    "a: 0b101",
    "a: 2024-01-01",
    "a: .5",
    "a: -.inf",
    "a: =",
    "a: 1\na: 2",
    "a: Y",
    "a: NULL",
    "a: ~",
]
JEXL_ENV = {"DEBUG": "false", "N": "5", "EMPTY": "", "NAME": "prod-eu"}
JEXL_PROBES = [
    "env.DEBUG",
    "env.N == 5",
    "env.MISSING",
    "env.MISSING == null",
    '"eu" in env.NAME',
    "env.N > 10",
    "env.N + 1",
    "1 / 0",
    'env.EMPTY ?: "x"',
    "!env.MISSING",
    'env["NAME"] == "prod-eu"',
    "env.MISSING.X",
    '"a" * 2',
    "env.N // 2",
    "1 || 2 && 0",
]
DOTENV_PROBES = [
    "A=1",
    "export A=1",
    "A=1 # note",
    'A="x # y"',
    'A="a\\nb"',
    "A='a\\nb'",
    "A=`tick`",
    'A="one\ntwo"',
    "B=2\nA=${B}",
    'B=2\nA="${B}"',
    "A=1\nA=2",
    "NOT A LINE",
    'A="say \\"hi\\""',
    'A="a\\tb"',
    "A",
    "A=",
]


def attempt(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except Exception as exc:  # a probe's answer may be any library's error
        return f"error: {type(exc).__name__}"


def best(read: Callable[[], Any], times: int = 3) -> float:
    shortest = float("inf")
    for _ in range(times):
        began = time.process_time()
        read()
        shortest = min(shortest, time.process_time() - began)
    return shortest


def compare(title: str, probes: list[str], ours: Callable[[str], Any], theirs: Callable[[str], Any]) -> None:
    differ = 0
    print(f"== {title}")
    for probe in probes:
        a, b = attempt(lambda p=probe: ours(p)), attempt(lambda p=probe: theirs(p))
        differ += a != b
        print(f"{'  ' if a == b else '!='} {probe!r:26} ours={a!r:32} library={b!r}")
    print(f"{differ} of {len(probes)} read differently")


def main() -> None:
    compare("YAML: PyYAML SafeLoader", YAML_PROBES, load_yaml, lambda t: yaml.load(t, Loader=yaml.CSafeLoader))
    text = yaml.safe_dump(generate(10_000), sort_keys=False)
    figures = {
        "fast path": best(lambda: load_yaml(text)),
        "full builder": best(lambda: _load_full(text)),
        "PyYAML CSafeLoader": best(lambda: yaml.load(text, Loader=yaml.CSafeLoader)),
    }
    try:
        from ruamel.yaml import YAML
    except ImportError:
        print("(ruamel.yaml not installed)")
    else:
        ruamel = YAML(typ="safe")
        compare("YAML: ruamel.yaml", YAML_PROBES, load_yaml, ruamel.load)
        figures["ruamel.yaml safe"] = best(lambda: ruamel.load(text), 1)
    print(f"10,000 steps ({len(text) / 1e6:.1f} MB): " + ", ".join(f"{k} {v:.2f} s" for k, v in figures.items()))
    try:
        import pyjexl
    except ImportError:
        print("(pyjexl not installed)")
    else:
        jexl = pyjexl.JEXL()
        compare(
            "JEXL: pyjexl",
            JEXL_PROBES,
            lambda e: evaluate(parse(e), JEXL_ENV),
            lambda e: jexl.evaluate(e, {"env": JEXL_ENV}),
        )
        condition = 'env.RUN_ALL == "true" || env.LAYER != "3"'
        ours, theirs = (
            best(lambda: [parse(condition) for _ in range(1000)]),
            best(lambda: [jexl.parse(condition) for _ in range(1000)]),
        )
        print(f"1,000 parses: ours {ours * 1000:.0f} ms, pyjexl {theirs * 1000:.0f} ms")
    try:
        from dotenv import dotenv_values
    except ImportError:
        print("(python-dotenv not installed)")
        return

    def ours_dotenv(text: str) -> Any:
        try:
            return parse_dotenv(text)
        except DotenvError:
            return "error: DotenvError"

    compare("dotenv: python-dotenv", DOTENV_PROBES, ours_dotenv, lambda t: dict(dotenv_values(stream=io.StringIO(t))))
    big = "".join(f'KEY_{i}="value {i}"\n' for i in range(10_000))
    ours_s, theirs_s = best(lambda: parse_dotenv(big)), best(lambda: dotenv_values(stream=io.StringIO(big)))
    print(f"10,000 lines: ours {ours_s * 1000:.0f} ms, python-dotenv {theirs_s * 1000:.0f} ms")


if __name__ == "__main__":
    main()
