"""The coverage ratchet (DQG006) on records: what counts as worse, what the message names, where
the finding points, and what a gain says. The real scans are in tests/test_coverage.py."""

import json
from pathlib import Path

from dqguard import baseline
from dqguard.baseline import Left, Locked
from dqguard.commands.ratchet import judged, left
from dqguard.commands.verdicts import leveled
from dqguard.manifest.case import Case
from dqguard.records import Outside
from dqguard.rules import IGNORABLE
from testing.lowered import CONV3D, SPLIT, UNSUPPORTED, WHOLE, case

CASE = Case(name="xnnpack/unsupported", model="models:M", inputs="models:x", quantizer="q:q", line=31,
            stages=("dqguard.stages:xnnpack",))
MANIFEST = "dqguard.toml"
# Before the refactor that left the Conv3d outside: all of it delegated
DELEGATED = Locked(delegates=2, coverage=1.0, outside=(Left("aten._adaptive_avg_pool2d.default", "pool", 0),
                                                       Left("quantized_decomposed.dequantize_per_channel.default",
                                                            "volume", 0)))


def test_the_ops_that_left_are_those_outside_now_and_not_before() -> None:
    assert left(UNSUPPORTED, DELEGATED) == [CONV3D]
    assert left(UNSUPPORTED, Locked(2, 0.25, ())) == list(UNSUPPORTED.outside)


def test_falling_coverage_names_what_left_at_its_line() -> None:
    [finding] = judged(case(UNSUPPORTED), CASE, MANIFEST, DELEGATED).findings
    assert finding.rule == "DQG006"
    assert finding.message == (
        "coverage 1.00 → 0.25 since the baseline (tolerance 0.005): convolution (volume) at models.py:31, "
        "82.9 kFLOPs left the delegates, taking 82.9 kFLOPs to the CPU")
    assert (finding.path, finding.line) == ("models.py", 31)
    assert [u.module for u in finding.users] == ["volume"]


def test_more_delegates_fail_at_the_manifest_line_when_nothing_left() -> None:
    [finding] = judged(case(SPLIT), CASE, MANIFEST, Locked(1, 1.0, ())).findings
    assert finding.message == "delegates 1 → 2 since the baseline (coverage 1.00 → 1.00)"
    assert (finding.path, finding.line) == (MANIFEST, 31)


def test_within_the_tolerance_is_no_finding_and_no_note() -> None:
    result = judged(case(WHOLE._replace(coverage=0.996)), CASE, MANIFEST, Locked(1, 1.0, ()))
    assert (result.findings, result.notes) == ((), ())
    strict = CASE._replace(coverage_tolerance=0.001)
    assert [f.rule for f in judged(case(WHOLE._replace(coverage=0.996)), strict, MANIFEST,
                                   Locked(1, 1.0, ())).findings] == ["DQG006"]


def test_below_the_floor_needs_no_baseline() -> None:
    floored = CASE._replace(min_coverage=0.98)
    [finding] = judged(case(UNSUPPORTED), floored, MANIFEST, None).findings
    assert finding.message == (
        "coverage 0.25 is below min_coverage 0.98: 82.9 kFLOPs of 111 kFLOPs run outside the delegates, "
        "largest convolution (volume) at models.py:31, 82.9 kFLOPs")
    assert judged(case(WHOLE), floored, MANIFEST, None).findings == ()


def test_a_gain_is_a_note_never_a_finding() -> None:
    result = judged(case(WHOLE), CASE._replace(name="xnnpack/heads"), MANIFEST,
                    Locked(2, 0.91, (Left("aten.convolution.default", "volume", 100),)))
    assert result.findings == ()
    assert result.notes == ("coverage 0.91 → 1.00, delegates 2 → 1: `dqguard baseline` locks it in",)


def test_a_case_without_coverage_is_left_alone() -> None:
    old = WHOLE._replace(flops=None, flops_delegated=None, coverage=None)
    for delegation in (None, old):
        assert judged(case(delegation), CASE._replace(min_coverage=1.0), MANIFEST, Locked(1, 1.0, ())) == \
            case(delegation)


def test_the_baseline_locks_lowered_cases_and_reads_version_1(tmp_path: Path) -> None:
    path = tmp_path / baseline.FILE_NAME
    assert baseline.write(path, [case(UNSUPPORTED), case(None, "merged")]) == (0, 1)
    data = json.loads(path.read_text())
    assert data["version"] == 2
    assert data["delegation"]["xnnpack/unsupported"]["outside"][0] == {
        "op": "aten.convolution.default", "module": "volume", "flops": 82944}
    locked = baseline.read(path).delegation["xnnpack/unsupported"]
    assert (locked.delegates, locked.coverage, locked.outside[0]) == (
        2, 0.25, Left("aten.convolution.default", "volume", 82944))
    path.write_text(json.dumps({"version": 1, "findings": []}))
    assert baseline.read(path) == baseline.Baseline([], {})


def test_outside_as_the_records_hold_it() -> None:
    assert Outside(op="aten.convolution.default", module="volume", path="models.py", line=31,
                             flops=82944) == CONV3D


def test_dqg006_is_ignorable_and_leveled_like_the_other_graph_rules() -> None:
    assert "DQG006" in IGNORABLE
    floored = CASE._replace(min_coverage=0.98)
    result = judged(case(UNSUPPORTED), floored, MANIFEST, None)
    assert leveled(result, floored, ("DQG006",)).findings == ()
    warned = leveled(result, floored._replace(rules=(("DQG006", "warning"),)), ())
    assert [(f.rule, f.severity) for f in warned.findings] == [("DQG006", "warning")]
