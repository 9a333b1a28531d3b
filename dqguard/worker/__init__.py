"""The worker side: `python -m dqguard.worker` imports torch once and runs each job in a fork of
itself (`serve`): build, export, quantize and convert (`pipeline`), the stages after convert
(`staging`), structural and weightless modes. Only this package, `dqguard.check` and
`dqguard.stages` may import torch (the import-linter contract in pyproject.toml)."""
