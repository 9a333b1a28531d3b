"""A case: one model under one quantizer, whatever manifest table it came from.

The parent loads cases (`dqguard.manifest.load`) and sends them to workers as JSON
(`request_json`); a worker reads them back with `case_from_request`.
"""

from typing import Any, NamedTuple

from dqguard.manifest import specs
from dqguard.manifest.specs import InlineInputs


class DynamicDim(NamedTuple):
    """One dynamic dimension of `dynamic_shapes`: a `torch.export.Dim` for dimension `dim` of the
    forward argument `arg`. Dimensions that name the same `name` are one Dim (one batch size)."""

    arg: str
    dim: int
    name: str
    min: int | None
    max: int | None


class Case(NamedTuple):
    name: str
    model: str
    inputs: str | InlineInputs  # a reference, or tensors the worker draws (dqguard.manifest.specs)
    quantizer: str
    line: int  # of the case's table in the manifest
    strict: bool = True
    calibration: int = 1
    timeout: float = 300.0
    memory: int | None = None  # bytes of worker RSS
    ignore: tuple[str, ...] = ()
    exact_qparams: bool = False
    flow: str | None = None  # "torchao" | "torch.ao"; None: the quantizer's own
    # (code, "error" | "warning" | "off"), sorted: the manifest's [rules] with the case's own on top
    rules: tuple[tuple[str, str], ...] = ()
    calibration_inputs: str | None = None  # module:attr of an iterable of inputs; None: `inputs`
    qat: bool = False
    dynamic_shapes: tuple[DynamicDim, ...] = ()
    stages: tuple[str, ...] = ()  # references applied in order to convert's output (dqguard.worker.staging)
    delegates: int | None = None  # delegate calls expected in the lowered program (DQG005)
    weightless: bool = False  # on fake tensors (dqguard.worker.weightless); exact_qparams overrides it
    fold_quantize: bool = True  # convert_pt2e's: OpenVINO's lowering takes only unfolded weights
    # The ratchet on a lowered program's coverage by compute (DQG006): an absolute floor, and how
    # far below its baseline coverage may fall.
    min_coverage: float | None = None
    coverage_tolerance: float = 0.005

    def on_fakes(self, exact_qparams: bool = False) -> bool:
        """Whether the case runs weightless; `exact_qparams` is the scan's `--exact-qparams`."""
        # Weightless qparams are structural by construction: exact ones need the weights, and so do
        # stages (a lowering serializes them).
        return self.weightless and not (exact_qparams or self.exact_qparams or self.stages)


def export_key(case: Case) -> tuple[object, ...]:
    """What shapes a case's export: cases that agree on it share one (dqguard.worker.pipeline)."""
    # Weightless cases run on their own (fake) export. The scan's --exact-qparams is left out: it
    # turns every case of a job off fakes alike.
    return (case.model, case.inputs, case.strict, case.qat, case.dynamic_shapes, case.on_fakes())


def request_json(case: Case) -> dict[str, Any]:
    """The case as JSON values: a worker's request, and what the cache keys on and `dqguard list` shows."""
    data = case._asdict()
    if isinstance(case.inputs, InlineInputs):
        data["inputs"] = specs.to_json(case.inputs)
    data["ignore"] = list(case.ignore)
    data["rules"] = dict(case.rules)
    return data


def case_from_request(data: dict[str, Any]) -> Case:
    """A Case as `request_json` sent it."""
    inputs = data["inputs"]
    dims = tuple(DynamicDim(*dim) for dim in data.get("dynamic_shapes", ()))
    return Case(**{**data, "ignore": tuple(data["ignore"]), "rules": tuple(sorted(data["rules"].items())),
                   "inputs": inputs if isinstance(inputs, str) else specs.parse(inputs),
                   "dynamic_shapes": dims, "stages": tuple(data["stages"])})
