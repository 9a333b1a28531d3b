"""The rule registry: every code dqguard can report, read by help, README, SARIF and annotations."""

from typing import NamedTuple


class Rule(NamedTuple):
    code: str
    name: str
    severity: str  # "error" | "warning"
    summary: str
    explanation: str
    fix: str


_ALL = (
    Rule(
        "DQG001",
        "shared-dequantize",
        "error",
        "A dequantize node feeds more than one op, at least one of them quantized.",
        "Backends partition a converted graph into dequantize -> op -> quantize groups. A dequantize "
        "shared by several ops belongs to no single group, so partitioners reject the pattern or "
        "silently fall back to float for the ops involved. convert_pt2e's DuplicateDQPass should have "
        "given every annotated consumer its own copy; torchao's affine dequantize ops are never "
        "duplicated, nor are ops it does not know.",
        "Give each consumer its own dequantize: annotate the consumers so DuplicateDQPass handles "
        "them, or duplicate the dequantize in a pass of your own after convert_pt2e.",
    ),
    Rule(
        "DQG002",
        "shared-dynamic-dequantize",
        "warning",
        "A dynamically quantized input's dequantize feeds more than one op.",
        "The dynamic-quantization chain choose_qparams -> getitem -> quantize -> dequantize is left "
        "shared by DuplicateDQPass on purpose, so every op reading the same tensor shares one "
        "dequantize. Backends that partition per op group cannot lower the consumers "
        "independently: with ExecuTorch 1.5's XNNPACK partitioner, three dynamic linears sharing "
        "one chain become one delegate or two depending only on the order of the ops.",
        "Give each consumer its own chain before lowering: add the stage "
        "dqguard.stages:duplicate_dynamic_quant_chain (first in `stages`, before any re-export), which runs "
        "ExecuTorch's DuplicateDynamicQuantChainPass (executorch.backends.transforms."
        "duplicate_dynamic_quant_chain) on the quantized_decomposed chain; after it XNNPACK makes one "
        "delegate whatever the op order. Affine (torchao) chains need a pass of your own.",
    ),
    Rule(
        "DQG003",
        "nothing-quantized",
        "error",
        "The converted graph has no quantized op: the quantizer matched nothing.",
        "A guard that checks an unquantized graph verifies nothing. This happens when a quantizer "
        "relies on metadata (such as source_fn_stack) that the chosen export mode does not produce, "
        "or when its patterns do not match the model's ops.",
        "Check that the quantizer supports the export mode (try strict = true) and the model's ops.",
    ),
    Rule(
        "DQG004",
        "quantized-op-not-delegated",
        "error",
        "A quantized op, or a quantize/dequantize op, stays outside every delegate after lowering.",
        "The quantizer quantized the op for the backend, but the backend's partitioner did not take "
        "it: it runs on the portable CPU kernels, in float between a dequantize and a quantize, and "
        "the program splits into more delegates around it. With ExecuTorch 1.5's XNNPACK "
        "partitioner, nn.Conv3d (static, per-channel) and adaptive_avg_pool2d to an output larger "
        "than 1x1 stay out.",
        "Use an op the backend delegates (AdaptiveAvgPool2d(1) becomes a delegated mean), have the "
        "quantizer leave the op in float, or target a backend that supports it.",
    ),
    Rule(
        "DQG005",
        "delegation-changed",
        "error",
        "The lowered program has a different number of delegates than the case's `delegates`.",
        "Each delegate call is a switch between the runtime and the backend, and a change in their "
        "number is often the only sign that a partition broke: three dynamic linears sharing one "
        "dequantize lower to XNNPACK as one delegate or two depending only on the order of the ops, "
        "with no op left outside.",
        "Find what split or merged the partitions (a shared dequantize, an op the backend rejects), "
        "or update `delegates` when the change is intended.",
    ),
    Rule(
        "DQG900",
        "case-error",
        "error",
        "A step of the case's pipeline failed.",
        "Importing the case's modules, building the model, inputs or quantizer, exporting, preparing, "
        "calibrating or converting raised an exception, so the case could not be checked.",
        "Fix the failing step; the message names it and the exception it raised.",
    ),
    Rule(
        "DQG901",
        "case-timeout",
        "error",
        "The case did not finish within its time limit.",
        "The worker running the case was stopped when the case's timeout passed.",
        "Raise `timeout` for the case, or find where the pipeline hangs (`--verbose` prints phases).",
    ),
    Rule(
        "DQG902",
        "worker-crashed",
        "error",
        "The process running the case died, never started, or passed the case's memory limit.",
        "The process running the case was killed by a signal, aborted, crashed, or grew past the "
        "case's `memory` limit; or no worker could start at all (importing torch failed or hung "
        "past DQGUARD_START_TIMEOUT). The message has the exit status, the phase and the line of "
        "your code it was on; the crash dump and the process's stderr are in the finding's detail.",
        "Reproduce with `dqguard scan -j 1 --case NAME`; raise `memory` if the model needs it.",
    ),
)

RULES: dict[str, Rule] = {rule.code: rule for rule in _ALL}
# DQG9xx say a case could not be checked. They can never be ignored: that would pass a case no
# one checked.
CASE_ERRORS = frozenset(code for code in RULES if code.startswith("DQG9"))
IGNORABLE = [code for code in RULES if code not in CASE_ERRORS]
# What `[rules]` may set a rule to, and what `--fail-on` may name.
LEVELS = ("error", "warning", "off")
FAIL_ON = ("error", "warning", "never")
