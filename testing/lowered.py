"""Lowered programs' delegation records as a scan of testing/resources/stages gives them, for the
unit tests of what reads them (the ratchet, the reports): no scan, no torch."""

from dqguard.records import CaseResult, Delegation, Outside, Segment

CONV3D = Outside("aten.convolution.default", "volume", "models.py", 31, 82944)
WEIGHT = Outside("quantized_decomposed.dequantize_per_channel.default", "volume", "models.py", 31, 0)
POOL = Outside("aten._adaptive_avg_pool2d.default", "pool", "models.py", 33, 0)

# xnnpack/unsupported: a Conv3d and an AdaptiveAvgPool2d(2) left outside two XNNPACK delegates
UNSUPPORTED = Delegation(
    backends=("XnnpackBackend",), delegates=2, delegated_ops=16, non_delegated_ops=3, flops=110592,
    flops_delegated=27648, coverage=0.25, outside=(CONV3D, WEIGHT, POOL),
    partition=(Segment(None, 1, 0, ("dequantize_per_channel",)), Segment("XnnpackBackend", 11, 27648),
               Segment(None, 2, 82944, ("convolution", "_adaptive_avg_pool2d")),
               Segment("XnnpackBackend", 5, 0)),
)
# xnnpack/heads: everything delegated, in one delegate or (split by a shared dynamic chain) two
WHOLE = Delegation(backends=("XnnpackBackend",), delegates=1, delegated_ops=11, non_delegated_ops=0,
                   flops=6144, flops_delegated=6144, coverage=1.0,
                   partition=(Segment("XnnpackBackend", 11, 6144),))
SPLIT = WHOLE._replace(delegates=2, partition=(Segment("XnnpackBackend", 9, 6144),
                                               Segment("XnnpackBackend", 2, 0)))


def case(delegation: Delegation | None, name: str = "xnnpack/unsupported") -> CaseResult:
    return CaseResult(name=name, status="ok", duration_s=1.0, delegation=delegation)
