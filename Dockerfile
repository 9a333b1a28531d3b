# The image behind the GitHub Action, `dqguard scan --docker` and the `dqguard-docker` pre-commit
# hook: dqguard with one CPU-only build of torch and torchao, so a verdict never changes because a
# runner's Python or a resolver's choice did. One image per torch line of dqguard/lines.py, the
# defaults being the main line's; another line:
#   docker build --build-arg TORCH_VERSION=2.9.1 --build-arg TORCHAO_VERSION=0.15.0 .
# A line's variant adds one of dqguard's pinned extras (dqguard.lines.RELEASED), as
# `VERSION-torchLINE-arm` does ExecuTorch with the Arm backend:
#   docker build --build-arg EXTRAS=arm .
# GitHub's rules for container actions: no USER (the workspace must stay writable as the runner
# mounts it) and no WORKDIR (the runner sets the working directory to the workspace).

# Pinned by digest so a rebuild cannot change the Python underneath; refresh it deliberately.
ARG BASE_IMAGE=python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b
FROM ${BASE_IMAGE}

ARG TORCH_VERSION=2.13.0
ARG TORCHAO_VERSION=0.18.0
# The build of torch: `+cpu` from the CPU index. Empty takes whatever build the index or
# PIP_FIND_LINKS serves (the tests: this machine has CUDA builds only of lines other than 2.13).
ARG TORCH_LOCAL_VERSION=+cpu
# Where the CPU-only torch wheels come from. Empty: pip's default index, plus PIP_FIND_LINKS
# (the tests serve a local torch wheel that way, as this machine has no route to the CPU index).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG PIP_FIND_LINKS=""

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# torch alone in the first layer: the largest one stays cached while dqguard changes. The `+cpu`
# pin makes a build that cannot reach the CPU wheels fail instead of pulling a CUDA build.
RUN if [ -n "$TORCH_INDEX_URL" ]; then export PIP_INDEX_URL="$TORCH_INDEX_URL"; fi \
    && python -m pip install --no-cache-dir "torch==${TORCH_VERSION}${TORCH_LOCAL_VERSION}"

# README.m[d]: the glob lets a context without the README still build.
COPY pyproject.toml README.m[d] /tmp/dqguard-src/
COPY dqguard /tmp/dqguard-src/dqguard
# A dqguard extra installed with dqguard, pinned in pyproject.toml: "" or "arm". Declared after
# the torch layer, so a variant shares that layer with its line's plain image.
ARG EXTRAS=""
# The extra goes in with torchao in one resolve, so its pins meet the line's (ExecuTorch 1.5.1
# needs torchao 0.18 and declares no torch requirement); the check fails the build if anything
# replaced the line's torch. A variant also imports what its lowering stages import.
RUN python -m pip install --no-cache-dir "torchao==${TORCHAO_VERSION}" "/tmp/dqguard-src${EXTRAS:+[${EXTRAS}]}" \
    && rm -rf /tmp/dqguard-src \
    && python -c "import dqguard.cli, sys, torch, torchao; print('torch', torch.__version__, 'torchao', \
torchao.__version__); sys.exit(torch.__version__.split('+')[0] != '${TORCH_VERSION}')" \
    && if [ -n "${EXTRAS}" ]; then python -c "import executorch.exir"; fi \
    && if [ "${EXTRAS}" = arm ]; then python -c "import executorch.backends.arm.ethosu, ethosu.vela"; fi

ENTRYPOINT ["python", "-m", "dqguard.action"]
