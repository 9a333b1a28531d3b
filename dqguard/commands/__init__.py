"""The commands behind `dqguard ...`, one module each; `dqguard.cli` only parses their options.
Parent side: nothing here imports torch."""
