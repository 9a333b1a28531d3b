"""The supported torch lines: which torch, which torchao beside it, which PT2E flows it has.

One entry per minor release of torch that dqguard is tested on. The README's support table, the
test harness's per-line virtualenvs (scripts/lines.py), the images (one per line, tagged
`VERSION-torchLINE`, and one per variant, `VERSION-torchLINE-EXTRA`), the per-line actions
(`torch-LINE/action.yml`, `torch-LINE-EXTRA/action.yml`) and `dqguard scan --docker --torch LINE`
all read this table, so adding a line is one entry here plus its pinned image.

torchao is no dependency of dqguard: its wheels declare no torch requirement, so pip puts any
torchao beside any torch, and only the pairing below imports (torchao 0.18 fails to import on
torch 2.9; 0.16 and 0.17 import there without their extensions and mis-handle torch.ao
quantizers). dqguard needs what the user's quantizers need and nothing more: a torch 2.9 project
with torch.ao quantizers only runs without torchao.

`EXTRAS` is what each of dqguard's extras pins beside a line (the backends' packages): the stages
name it when a backend is missing (`dqguard.stages.extras`, `dqguard.worker.programs`), and
pyproject's `[project.optional-dependencies]` lists the same (tests/test_extras.py keeps them equal).

No torch import here: the parent process reads these tables.
"""

from typing import NamedTuple


class Line(NamedTuple):
    torch: str  # the release tested and put in the image
    torchao: str  # the torchao release that pairs with it
    flows: tuple[str, ...]  # the PT2E flows this torch can run (see dqguard.worker.flows)
    # dqguard extras released as an image of their own on this line, beside the plain one: only
    # where they are tested (ExecuTorch 1.5.1 needs torchao 0.18, so never on the 2.9 line).
    variants: tuple[str, ...] = ()


class Image(NamedTuple):
    """One image a release builds and pins: a torch line's, plain or with one of dqguard's extras."""

    line: str
    extra: str = ""

    @property
    def name(self) -> str:
        """`2.13` or `2.13-arm`: what follows `-torch` in its tag, and its action's directory `torch-NAME`."""
        return f"{self.line}-{self.extra}" if self.extra else self.line

    def tag(self, version: str) -> str:
        """The one definition of an image's tag: `0.2.0-torch2.13`, `0.2.0-torch2.13-arm`."""
        return f"{version}-torch{self.name}"


# The PT2E implementations a manifest's `flow` may name (loaded by dqguard.worker.flows).
FLOWS = ("torchao", "torch.ao")

LINES = {
    "2.9": Line(torch="2.9.1", torchao="0.15.0", flows=("torch.ao", "torchao")),
    "2.13": Line(torch="2.13.0", torchao="0.18.0", flows=("torchao",), variants=("arm",)),
    "2.14": Line(torch="2.14.1", torchao="0.18.0", flows=("torchao",)),
}
# The line of the root action, the `dqguard-docker` hook and a plain `scan --docker`.
DEFAULT = "2.13"

# Every image a release builds, pushes and pins (scripts/release_image.py), by name.
RELEASED = {image.name: image for line, pair in LINES.items()
            for image in (Image(line), *(Image(line, extra) for extra in pair.variants))}


def line_of(torch_version: str) -> str:
    """`2.9` for `2.9.1+cu128`: the line a torch version belongs to, supported or not."""
    major, minor = torch_version.split("+", 1)[0].split(".")[:2]
    return f"{major}.{minor}"


def installed() -> str | None:
    """The line of the torch installed beside this interpreter (read from its metadata, not imported)."""
    from importlib import metadata  # here: importing it costs the parent's start-up ~0.1 s

    try:
        return line_of(metadata.version("torch"))
    except metadata.PackageNotFoundError:
        return None


def pairing(line: str | None) -> str:
    """What to install beside a torch of `line`, for messages."""
    if line in LINES:
        pair = LINES[line]
        return f"torchao=={pair.torchao} (the release that pairs with torch {line})"
    supported = ", ".join(f"torchao {pair.torchao} beside torch {name}" for name, pair in LINES.items())
    return f"the torchao of your torch's line ({supported})"


EXECUTORCH = "executorch==1.5.1"


class Extra(NamedTuple):
    what: str
    requires: tuple[str, ...]


EXTRAS = {
    "executorch": Extra("ExecuTorch", (EXECUTORCH,)),
    "arm": Extra("the Arm backend", (EXECUTORCH, "tosa-tools==2026.8.0", "ethos-u-vela==5.2.0")),
    "coreml": Extra("the Core ML backend", (EXECUTORCH, "coremltools==9.0")),
    "openvino": Extra("the OpenVINO backend", (EXECUTORCH, "nncf==3.4.0", "openvino==2026.4.1")),
    # ExecuTorch's wheel carries the Vulkan partitioner; lowering needs no GPU.
    "vulkan": Extra("the Vulkan backend", (EXECUTORCH,)),
}


def install(extra: str) -> str:
    wanted = EXTRAS[extra]
    return f"install {wanted.what}: pip install 'dqguard[{extra}]' ({', '.join(wanted.requires)})"
