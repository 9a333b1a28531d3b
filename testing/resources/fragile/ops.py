"""Registers an op at import time, as projects with custom kernels do."""

import torch

_LIBRARY = torch.library.Library("dqguard_fragile", "DEF")
_LIBRARY.define("double(Tensor x) -> Tensor")
_LIBRARY.impl("double", lambda x: x * 2, "CompositeImplicitAutograd")
