"""LLM-scale findings: a 32-layer decoder's 64 shared dynamic chains are two lines of text and two
summary sections, one result each in the machine formats, and every one under -v."""

import json

from dqguard.records import CaseResult, Finding, NodeRef, ScanResult
from dqguard.report import FORMATS
from dqguard.report.collapse import fold, shown
from dqguard.report.style import Style

LAYERS = 32
TIMES = "\N{MULTIPLICATION SIGN}"
WHY = ("dynamic quantization: DuplicateDQPass leaves the choose_qparams -> quantize -> dequantize "
       "chain shared on purpose")


def _finding(layer: int, block: str, leaves: tuple[str, ...], norm: str, number: int) -> Finding:
    users = tuple(NodeRef(f"linear_{number}_{leaf}", "aten.linear.default", None, None,
                          module=f"model.layers.{layer}.{block}.{leaf}") for leaf in leaves)
    listed = ", ".join([users[0].module or "", *(f"...{leaf}" for leaf in leaves[1:])])
    node = "dequantize_per_tensor_tensor" + (f"_{number}" if number else "")
    return Finding(rule="DQG002", message=f"{node} is shared by {len(users)} quantized ops ({listed}); it "
                   f"dequantizes model.layers.{layer}.{norm}; {WHY}", path="dqguard.toml", line=9,
                   dequantize=node, users=users, stage="convert")


def _llama() -> list[Finding]:
    """As the check reports an 8 B LLaMA shape under x86 dynamic: per layer, q/k/v then gate/up."""
    findings = []
    for layer in range(LAYERS):
        findings.append(_finding(layer, "self_attn", ("q_proj", "k_proj", "v_proj"), "input_layernorm",
                                 2 * layer))
        findings.append(_finding(layer, "mlp", ("gate_proj", "up_proj"), "post_attention_layernorm",
                                 2 * layer + 1))
    return findings


def _result(findings: list[Finding]) -> ScanResult:
    case = CaseResult("llama-8b/dynamic", "findings", 10.5, tuple(findings))
    return ScanResult("dqguard.toml", (case,))


def test_findings_that_differ_in_layer_indices_are_one() -> None:
    folded = fold(_llama())
    assert [len(f.members) for f in folded] == [LAYERS, LAYERS]
    assert [shown(f) for f in folded] == [
        f"32{TIMES} dequantize_per_tensor_tensor is shared by 3 quantized ops "
        f"(model.layers.{{0..31}}.self_attn.{{q,k,v}}_proj); it dequantizes "
        f"model.layers.{{0..31}}.input_layernorm; {WHY}",
        f"32{TIMES} dequantize_per_tensor_tensor is shared by 2 quantized ops "
        f"(model.layers.{{0..31}}.mlp.{{gate,up}}_proj); it dequantizes "
        f"model.layers.{{0..31}}.post_attention_layernorm; {WHY}",
    ]
    assert folded[0].finding == _llama()[0]  # drawn and located as the first of them


def test_an_index_set_with_gaps_is_listed() -> None:
    findings = [f for f in _llama() if "self_attn" in f.message][:6]
    picked = [findings[i] for i in (0, 2, 5)]
    assert "model.layers.{0,2,5}.self_attn.{q,k,v}_proj" in shown(fold(picked)[0])
    assert "model.layers.{0,1}." in shown(fold(findings[:2])[0])


def test_findings_that_are_different_places_stay_apart() -> None:
    first = _llama()[0]
    apart = [
        first,
        first._replace(line=12),  # another line of the user's
        _llama()[2]._replace(severity="error"),  # another level
        _llama()[4]._replace(stage="dqguard.stages:reexport"),
        first._replace(rule="DQG900", message="export failed at layers.3.attn"),  # a case error
        first._replace(message="dequantize is shared by 2 quantized ops (linear at line 3, linear_1 "
                       "at line 4)", dequantize="dequantize"),  # no module index at all
    ]
    assert [len(f.members) for f in fold(apart)] == [1] * len(apart)
    assert [f.message for f in fold(apart)] == [f.message for f in apart]


def test_text_report_prints_one_line_per_fold_and_verbose_each() -> None:
    result = _result(_llama())
    lines = FORMATS["text"](result, Style()).splitlines()
    assert lines == [
        f"dqguard.toml:9: DQG002 32{TIMES} dequantize_per_tensor_tensor is shared by 3 quantized ops "
        f"(model.layers.{{0..31}}.self_attn.{{q,k,v}}_proj); it dequantizes "
        f"model.layers.{{0..31}}.input_layernorm; {WHY} [llama-8b/dynamic]",
        f"dqguard.toml:9: DQG002 32{TIMES} dequantize_per_tensor_tensor is shared by 2 quantized ops "
        f"(model.layers.{{0..31}}.mlp.{{gate,up}}_proj); it dequantizes "
        f"model.layers.{{0..31}}.post_attention_layernorm; {WHY} [llama-8b/dynamic]",
        "1 case, 1 with findings",
    ]
    verbose = FORMATS["text"](result, Style(verbose=True)).splitlines()
    assert [line for line in verbose if " DQG002 " in line] == [
        f"dqguard.toml:9: DQG002 {f.message} [llama-8b/dynamic]" for f in _llama()]


def test_summary_draws_one_section_per_fold() -> None:
    summary = FORMATS["summary"](_result(_llama()), Style())
    sections = [line for line in summary.splitlines() if line.startswith("### ")]
    assert len(sections) == 2 and summary.count("```mermaid") == 2
    heading = f"In case `llama-8b/dynamic`: 32{TIMES} dequantize\\_per\\_tensor\\_tensor is shared"
    assert heading in summary
    assert "self\\_attn.{q,k,v}\\_proj" in summary


def test_machine_formats_keep_one_result_per_finding() -> None:
    result = _result(_llama())
    document = json.loads(FORMATS["json"](result, Style()))
    assert len(document["cases"][0]["findings"]) == 2 * LAYERS
    sarif = json.loads(FORMATS["sarif"](result, Style()))
    assert len(sarif["runs"][0]["results"]) == 2 * LAYERS
    assert FORMATS["junit"](result, Style()).count("<failure") == 2 * LAYERS
