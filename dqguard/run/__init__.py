"""Running cases from the parent: the worker pool (`pool`), the result cache (`cache`) and what a
verdict depends on (`dependencies`), the libraries workers import before forking (`preimport`).
Parent side: nothing here imports torch; workers are separate interpreters (`dqguard.worker`)."""
