"""A user's own Ethos-U stages: one passing Vela a flag it does not know, one keeping Vela's figures."""

import json
from pathlib import Path
from typing import Any

from dqguard.stages import ethos_u85
from dqguard.stages.lowering.arm import ethos_u


def ethos_u55_with_unknown_flag(program: Any, example_inputs: Any) -> Any:
    return ethos_u(program, example_inputs, "ethos-u55-128", extra_flags=["--no-such-vela-flag"])


def ethos_u85_keeping_figures(program: Any, example_inputs: Any) -> Any:
    lowered = ethos_u85(program, example_inputs)
    figures = [summary._asdict() for summary in lowered.backend_figures]
    (Path(__file__).parent / "vela-figures.json").write_text(json.dumps(figures))
    return lowered
