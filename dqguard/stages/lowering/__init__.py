"""One module per ExecuTorch backend dqguard lowers to; `dqguard.stages` re-exports each stage.

Every stage here re-exports convert's GraphModule, lowers it with `to_edge_transform_and_lower` and
the backend's own partitioner, and returns the EdgeProgramManager. Its imports go through
`dqguard.stages.extras.load`, so a backend that is not installed names the extra to install.
"""
