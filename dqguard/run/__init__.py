"""Running cases from the parent: which cases run together (`plan`), the worker pool (`pool`), its
end of each worker (`client`), the messages the two sides speak (`protocol`), the processes seen
from outside (`process`: memory, kills, exit reasons, stack dumps), the result cache (`cache`) and
what a verdict depends on (`dependencies`), the libraries workers import before forking
(`preimport`). Parent side: nothing here imports torch; workers are separate interpreters
(`dqguard.worker`), which use `protocol`, `dependencies` and `preimport` too."""
