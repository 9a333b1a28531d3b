"""The deep network's quantizer, built like the seed scenarios' (testing/resources/seed)."""

from seed_quantizers import OpsQuantizer


class DeepQuantizer(OpsQuantizer):
    ops = ("conv", "add", "linear", "adaptive_avg_pool2d")
