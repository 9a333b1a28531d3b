"""Vela's figures, parsed from what Vela 5.2 really printed (tests/data/vela, captured by the
Ethos-U stage from a conv2d -> conv3d -> linear net, which the U55 splits around the conv3d)."""

import os
import sys
from pathlib import Path

import pytest

from dqguard.stages import vela

DATA = Path(__file__).parent / "data" / "vela"


def test_one_summary_per_delegate_in_order() -> None:
    text = (DATA / "ethos-u55-128-two-delegates.txt").read_text()
    assert vela.summaries(text) == [
        vela.Summary(accelerator="Ethos_U55_128", cpu_ops=0, npu_ops=5, macs=55296, sram_kib=4.0),
        vela.Summary(accelerator="Ethos_U55_128", cpu_ops=0, npu_ops=1, macs=16384, sram_kib=4.02),
    ]


def test_text_before_the_first_summary_is_not_one() -> None:
    text = (DATA / "ethos-u85-256.txt").read_text()
    assert text.startswith("Info: Changing const_mem_area")
    assert vela.summaries(text) == [
        vela.Summary(accelerator="Ethos_U85_256", cpu_ops=0, npu_ops=33, macs=155904, sram_kib=146.0)]


def test_a_missing_line_is_none_and_no_summary_is_an_empty_list() -> None:
    text = (DATA / "ethos-u85-256.txt").read_text()
    cut = "\n".join(line for line in text.splitlines() if not line.startswith("Neural network macs"))
    [summary] = vela.summaries(cut)
    assert summary.macs is None and summary.npu_ops == 33
    assert vela.summaries("Warning: nothing compiled\n") == []


def test_argparse_complaint_is_found() -> None:
    stderr = "usage: vela [-h] [--version]\n       [NETWORK]\nvela: error: unrecognized arguments: --x\n"
    assert vela.error(stderr) == "vela: error: unrecognized arguments: --x"
    assert vela.error("") is None


def test_capture_takes_fd_1_and_stderr_and_passes_both_on_to_fd_2(capfd: pytest.CaptureFixture[str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # A worker's sys.stdout writes to fd 1 (pytest's does not); Vela prints to it, buffered.
    stdout = open(1, "w", closefd=False)  # noqa: SIM115
    monkeypatch.setattr(sys, "stdout", stdout)
    with vela.captured() as output:
        os.write(1, b"Network summary for out\n")  # as Vela's C++ compiler writes, past sys.stdout
        print("NPU operators = 3 (100.0%)")
        print("vela: error: no", file=sys.stderr)
    assert output.stdout == "Network summary for out\nNPU operators = 3 (100.0%)\n"
    assert output.stderr == "vela: error: no\n"
    out, err = capfd.readouterr()
    assert out == "" and err == output.stdout + output.stderr


def test_capture_restores_fd_1_when_the_call_exits(capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit), vela.captured() as output:
        print("vela: error: unrecognized arguments: --x", file=sys.stderr)
        raise SystemExit(2)
    assert vela.error(output.stderr) == "vela: error: unrecognized arguments: --x"
    os.write(1, b"after\n")
    assert capfd.readouterr().out == "after\n"
