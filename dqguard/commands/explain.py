"""`dqguard explain CASE`: run one case and show each finding's neighbourhood in the converted graph.

The case runs as a scan runs it (`cases.run`: the real runner and worker, its own process),
never from the cache: explaining is for a verdict you are looking at now. For every finding it
prints the producer, the quantize (or the dynamic chain's choose_qparams and quantize), the
shared dequantize and each consumer with its target, shape and source line.

For a lowered case it then prints the coverage by compute and the partition in program order, a
row per delegate and per CPU island (`report.partition`).

`--graph FILE` draws the findings, chosen by the file's suffix: `.md` is the job summary's Mermaid
flowcharts (`report.summary.flowchart`, and the partition's, `report.partition.flowchart`), `.dot`
Graphviz source, `.svg` that source rendered by Graphviz's `dot` (which must be on PATH: Debian's
`graphviz` package). No torch here: the facts come back in the records (`Finding.shapes`, `users`,
`producer`, `CaseResult.delegation`).
"""

import shutil
import subprocess
from pathlib import Path

from dqguard.commands import cases, paths
from dqguard.commands.options import ScanOptions
from dqguard.commands.selection import select
from dqguard.commands.verdicts import leveled
from dqguard.errors import EXIT_CLEAN, EXIT_FINDINGS, DqguardError
from dqguard.manifest import projects
from dqguard.records import Delegation, Finding, NodeRef, severity_of, source_line
from dqguard.report import partition
from dqguard.report.summary import flowchart
from dqguard.rules import RULES
from dqguard.words import plural

SUFFIXES = (".svg", ".dot", ".md")


def _where(ref: NodeRef) -> str:
    # Both: the submodule tells which layer ran a line that every layer runs.
    line = source_line(ref) or "no source line"
    return f"{line} ({ref.module})" if ref.module else line


def _row(role: str, ref: NodeRef, shapes: dict[str, str]) -> str:
    return f"  {role:<11} {ref.node} ({ref.target}) {shapes.get(ref.node, '')}  at {_where(ref)}".rstrip()


def text(finding: Finding, case: str) -> str:
    rule = RULES[finding.rule]
    lines = [f"{finding.path}:{finding.line}: {finding.rule} {rule.name} ({severity_of(finding)}) [{case}]",
             f"  {finding.message}"]
    if finding.dequantize is not None:
        shapes = dict(finding.shapes)
        if finding.producer is not None:
            lines.append(_row("producer", finding.producer, shapes))
        chain = "choose_qparams -> quantize" if finding.rule == "DQG002" else "quantize"
        lines.append(f"  {'quantize':<11} {chain}")
        dequantize = finding.dequantize
        lines.append(f"  {'dequantize':<11} {dequantize} {shapes.get(dequantize, '')}, "
                     f"shared by {len(finding.users)} ops")
        lines += [_row("consumer", user, shapes) for user in finding.users]
    lines.append(f"  Fix: {rule.fix}")
    return "\n".join(lines)


def _dot_label(*parts: str) -> str:
    escaped = (part.replace("\\", "\\\\").replace('"', '\\"') for part in parts if part)
    return '"' + "\\n".join(escaped) + '"'


def dot(findings: list[Finding], case: str) -> str:
    """Graphviz source: one cluster per finding, the shared dequantize in red."""
    lines = ["digraph dqguard {", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];',
             f"  label={_dot_label(f'dqguard explain {case}')};"]
    for index, finding in enumerate(f for f in findings if f.dequantize is not None):
        shapes = dict(finding.shapes)
        dequantize = finding.dequantize or ""
        prefix = f"f{index}_"
        lines += [f"  subgraph cluster_{index} {{",
                  f"    label={_dot_label(f'{finding.rule} at {finding.path}:{finding.line}')};"]
        if finding.producer is not None:
            ref = finding.producer
            label = _dot_label(ref.node, ref.target, shapes.get(ref.node, ""), _where(ref))
            lines.append(f"    {prefix}p [label={label}];")
            lines.append(f"    {prefix}p -> {prefix}q;")
        chain = "choose_qparams, quantize" if finding.rule == "DQG002" else "quantize"
        lines.append(f"    {prefix}q [label={_dot_label(chain)}];")
        label = _dot_label(dequantize, shapes.get(dequantize, ""), f"shared by {len(finding.users)} ops")
        lines.append(f'    {prefix}d [label={label}, color="#cf222e", penwidth=3, style=filled, '
                     'fillcolor="#ffebe9"];')
        lines.append(f"    {prefix}q -> {prefix}d;")
        for number, user in enumerate(finding.users):
            label = _dot_label(user.node, user.target, shapes.get(user.node, ""), _where(user))
            lines.append(f"    {prefix}u{number} [label={label}];")
            lines.append(f"    {prefix}d -> {prefix}u{number};")
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def markdown(findings: list[Finding], case: str, delegation: Delegation | None = None) -> str:
    parts = [f"# dqguard explain {case}"]
    for finding in findings:
        parts.append(f"## {finding.rule} at {finding.path}:{finding.line}\n\n{finding.message}")
        if finding.dequantize is not None:
            parts.append(flowchart(finding))
    said = None if delegation is None else partition.line(delegation)
    if delegation is not None and said is not None:
        parts += [f"## Partition\n\n{said}", partition.flowchart(delegation)]
    return "\n\n".join(parts) + "\n"


def _check_suffix(path: Path) -> None:
    if path.suffix not in SUFFIXES:
        raise DqguardError(f"--graph {path}: the suffix picks the format: {', '.join(SUFFIXES)}")


def write_graph(path: Path, findings: list[Finding], case: str, delegation: Delegation | None = None) -> None:
    _check_suffix(path)
    if path.suffix == ".md":
        path.write_text(markdown(findings, case, delegation))
        return
    source = dot(findings, case)
    if path.suffix == ".dot":
        path.write_text(source)
        return
    renderer = shutil.which("dot")
    if renderer is None:
        raise DqguardError("--graph FILE.svg needs Graphviz's `dot` on PATH (apt-get install graphviz); "
                           "or write FILE.dot or FILE.md")
    done = subprocess.run([renderer, "-Tsvg", "-o", str(path)], input=source, text=True,
                          capture_output=True, check=False)
    if done.returncode != 0:
        raise DqguardError(f"dot -Tsvg failed: {done.stderr.strip()}")


def execute(options: ScanOptions, case: str, graph: Path | None) -> int:
    if graph is not None:
        _check_suffix(graph)  # before the case runs: a typo should not cost a run
    options = options._replace(cases=(case,), no_cache=True)
    chosen = select(projects.load(options.manifest, options.paths, options.exclude), options)
    if len(chosen) != 1:
        names = ", ".join(project.qualified(found.name) for project, found in chosen)
        raise DqguardError(f"{case!r} matches {len(chosen)} cases ({names}): name one")
    [item] = cases.run(options)
    name = item.project.qualified(item.case.name)
    result = leveled(item.result, item.case, item.case.ignore)
    [result] = paths.rebase([result], paths.prefix(item.project.manifest.root, paths.display_base()))
    findings = list(result.findings)
    for finding in findings:
        print(text(finding, name), end="\n\n")
    said = None if result.delegation is None else partition.line(result.delegation)
    if result.delegation is not None and said is not None:
        print(f"{name}: {said}\n{partition.table(result.delegation)}", end="\n\n")
    count = f", {plural(len(findings), 'finding')}" if findings else ""
    print(f"{name}: {result.status}{count}")
    if graph is not None:
        write_graph(graph, findings, name, result.delegation)
        print(f"wrote {graph}")
    return EXIT_FINDINGS if findings else EXIT_CLEAN
