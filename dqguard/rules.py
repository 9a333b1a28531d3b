"""The rule registry: every code dqguard can report, read by `dqguard rules`, SARIF, annotations and
the docs site, whose page per rule (docs/rules/CODE.md) scripts/docs.py generates from it."""

from typing import NamedTuple


class Rule(NamedTuple):
    code: str
    name: str
    severity: str  # "error" | "warning"
    summary: str
    explanation: str  # why it matters to a backend
    fix: str
    # An example graph (as torch.fx prints a converted or lowered program, trimmed to the nodes
    # that matter, each user's source line after `#`) or, for a case error, what caused it.
    example: str = ""
    message: str = ""  # what the text report prints for that example


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
        example=(
            'tokens: "f32[1, 8, 16]"\n'
            "quantize_affine = torchao.quantize_affine(tokens, [1, 1, 16], scale, zero_point, torch.int8)\n"
            "dequantize_affine = torchao.dequantize_affine(quantize_affine, [1, 1, 16], scale, "
            "zero_point, torch.int8)\n"
            "linear = aten.linear.default(dequantize_affine, dequantize_weight, bias)        # "
            "models/blocks.py:32\n"
            "linear_1 = aten.linear.default(dequantize_affine, dequantize_weight_1, bias_1)  # "
            "models/blocks.py:33\n"
            "linear_2 = aten.linear.default(dequantize_affine, dequantize_weight_2, bias_2)  # "
            "models/blocks.py:34"
        ),
        message=(
            "models/blocks.py:32: DQG001 dequantize_affine is shared by 3 quantized ops (linear at line "
            "32, linear_1 at line 33, linear_2 at line 34); it dequantizes tokens; DuplicateDQPass never "
            "de-duplicates dequantize_affine [projections/per-token-static]"
        ),
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
        "one chain become one delegate or two depending only on the order of the ops. Inductor is "
        "the exception: its freezing passes copy a shared per-tensor dequantize for each user, so a "
        "case whose quantizer is an Inductor one (X86InductorQuantizer) and that has no `stages` "
        "records such a sharing in JSON `resolved` (`resolved_by: \"inductor\"`) and reports nothing.",
        "Give each consumer its own chain before lowering: add the stage "
        "dqguard.stages:duplicate_dynamic_quant_chain (first in `stages`, before any re-export), which runs "
        "ExecuTorch's DuplicateDynamicQuantChainPass (executorch.backends.transforms."
        "duplicate_dynamic_quant_chain) on the quantized_decomposed chain; after it XNNPACK makes one "
        "delegate whatever the op order. Affine (torchao) chains need a pass of your own.",
        example=(
            'tokens: "f32[1, 8, 16]"\n'
            "choose_qparams = quantized_decomposed.choose_qparams.tensor(tokens, -128, 127, "
            "1e-05, torch.int8)\n"
            "scale = choose_qparams[0]\n"
            "zero_point = choose_qparams[1]\n"
            "quantize = quantized_decomposed.quantize_per_tensor.tensor(tokens, scale, "
            "zero_point, -128, 127, torch.int8)\n"
            "dequantize = quantized_decomposed.dequantize_per_tensor.tensor(quantize, scale, "
            "zero_point, -128, 127, torch.int8)\n"
            "linear = aten.linear.default(dequantize, dequantize_weight, bias)        # "
            "models/blocks.py:32\n"
            "linear_1 = aten.linear.default(dequantize, dequantize_weight_1, bias_1)  # "
            "models/blocks.py:33\n"
            "linear_2 = aten.linear.default(dequantize, dequantize_weight_2, bias_2)  # models/blocks.py:34"
        ),
        message=(
            "models/blocks.py:32: DQG002 dequantize_per_tensor_tensor is shared by 3 quantized ops "
            "(linear at line 32, linear_1 at line 33, linear_2 at line 34); it dequantizes tokens; "
            "dynamic quantization: DuplicateDQPass leaves the choose_qparams -> quantize -> dequantize "
            "chain shared on purpose [projections/xnnpack-dynamic]"
        ),
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
        example=(
            "# strict = false: non-strict export records no source_fn_stack, and a quantizer that finds\n"
            "# F.linear through function source partitions matches nothing\n"
            'x: "f32[1, 16]"\n'
            "linear = aten.linear.default(x, weight, bias)        # models.py:12  F.linear(x, "
            "self.weight, self.bias)\n"
            "relu = aten.relu.default(linear)\n"
            "linear_1 = aten.linear.default(relu, weight_1, bias_1)"
        ),
        message=(
            "dqguard.toml:25: DQG003 nothing is quantized: the converted graph has no quantized op, so "
            "there is nothing to check (the quantizer matched no op of this model) [three-heads/nothing]"
        ),
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
        example=(
            "# after dqguard.stages:xnnpack: nn.Conv3d, quantized static per-channel, left "
            "outside the delegates\n"
            "executorch_call_delegate = "
            "torch.ops.higher_order.executorch_call_delegate(lowered_module_0, x)\n"
            "getitem = executorch_call_delegate[0]\n"
            "dequantize_per_channel = "
            "quantized_decomposed.dequantize_per_channel.default(weight, scales, zero_points, 0, "
            "-127, 127, torch.int8)\n"
            "convolution = aten.convolution.default(dequantize, dequantize_per_channel, bias, "
            "[1, 1, 1], ...)  # models.py:21"
        ),
        message=(
            "models.py:21: DQG004 aten.convolution.default in volume was quantized but stays outside every "
            "XnnpackBackend delegate: it runs in float on the portable CPU kernels, and so do "
            "quantized_decomposed.dequantize_per_channel.default [xnnpack/unsupported]"
        ),
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
        example=(
            "# delegates = 1; dynamic q(x) + k(x) + v(x) without duplicate_dynamic_quant_chain\n"
            "executorch_call_delegate = "
            "torch.ops.higher_order.executorch_call_delegate(lowered_module_0, x)\n"
            "getitem = executorch_call_delegate[0]\n"
            "getitem_1 = executorch_call_delegate[1]\n"
            "executorch_call_delegate_1 = "
            "torch.ops.higher_order.executorch_call_delegate(lowered_module_1, getitem, getitem_1)"
        ),
        message=(
            "dqguard.toml:31: DQG005 expected 1 delegate, the lowered program has 2 (XnnpackBackend) "
            "[xnnpack/heads]"
        ),
    ),
    Rule(
        "DQG006",
        "delegation-regressed",
        "error",
        "The lowered program's coverage by compute fell below its baseline or its `min_coverage`, or "
        "it has more delegates than its baseline.",
        "What a device accelerates is the compute inside its delegates; what is left outside runs on "
        "the portable CPU kernels, often in float. Counting nodes hides it (a view weighs as much as "
        "a convolution), so dqguard counts FLOPs as torch.utils.flop_counter does and ratchets the "
        "delegated share like code coverage: `dqguard baseline` records each lowered case's "
        "coverage and delegate count, and a change that moves compute out of the delegates, or cuts "
        "the program into more of them, fails the pull request that made it. `min_coverage` is an "
        "absolute floor that needs no baseline.",
        "Make the op that left lowerable again (the message names it, its submodule and the FLOPs "
        "it took to the CPU), or accept the new figures with `dqguard baseline` when the change is "
        "intended. `coverage_tolerance` sets how far below its baseline coverage may fall.",
        example=(
            "# dqguard-baseline.json: xnnpack/heads lowered to 1 delegate with coverage 1.0\n"
            "# models.py, refactored from `q = self.q(x); k = self.k(x); v = self.v(x)`:\n"
            "return self.q(x) + self.k(x) + self.v(x)\n"
            "# after dqguard.stages:xnnpack (dynamic quantization, one shared choose_qparams chain)\n"
            "executorch_call_delegate = "
            "torch.ops.higher_order.executorch_call_delegate(lowered_module_0, x)\n"
            "executorch_call_delegate_1 = "
            "torch.ops.higher_order.executorch_call_delegate(lowered_module_1, getitem, getitem_1)"
        ),
        message=(
            "dqguard.toml:31: DQG006 delegates 1 → 2 since the baseline (coverage 1.00 → 1.00) "
            "[xnnpack/heads]"
        ),
    ),
    Rule(
        "DQG900",
        "case-error",
        "error",
        "A step of the case's pipeline failed.",
        "Importing the case's modules, building the model, inputs or quantizer, exporting, preparing, "
        "calibrating or converting raised an exception, so the case could not be checked.",
        "Fix the failing step; the message names it and the exception it raised, and the root "
        "cause when a library wrapped it (`(caused by ...)`); JSON's `step` names the step for tools.",
        example=(
            "# models/blocks.py\n"
            "class Small(nn.Module):\n"
            "    def __init__(self) -> None:\n"
            "        super().__init__()\n"
            '        raise ValueError("checkpoint \'weights/small.pt\' is missing")'
        ),
        message=(
            "dqguard.toml:9: DQG900 building the model failed: ValueError: checkpoint 'weights/small.pt' "
            "is missing (at blocks.py:21) [broken/raises-in-init]"
        ),
    ),
    Rule(
        "DQG901",
        "case-timeout",
        "error",
        "The case did not finish within its time limit.",
        "The worker running the case was stopped when the case's timeout passed.",
        "Raise `timeout` for the case, or find where the pipeline hangs (`--verbose` prints phases).",
        example=(
            "# dqguard.toml: timeout = 6\n"
            "# models.py, line 40, in forward: a loop that never ends while torch.export traces it\n"
            "while not self.converged(x):\n"
            "    x = self.step(x)"
        ),
        message=(
            "dqguard.toml:9: DQG901 timed out after 6 s during export (at models.py:40) [hangs]"
        ),
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
        example=(
            '# dqguard.toml: memory = "1GiB"\n'
            "# models.py, line 58, in forward: an intermediate far larger than the model\n"
            "table = torch.zeros(1 << 28)"
        ),
        message=(
            "dqguard.toml:36: DQG902 worker passed the memory limit during export (1133 MiB resident > "
            "1024 MiB); killed [eats-memory]"
        ),
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
