"""Where a scan's reports go: each `--format` to standard output or its file, the Markdown summary
to `--summary` and `$GITHUB_STEP_SUMMARY`, and the step's outputs naming the files written."""

import sys

from dqguard.commands.options import ScanOptions
from dqguard.records import ScanResult
from dqguard.report import FORMATS, outputs
from dqguard.report.style import Style


def write(result: ScanResult, options: ScanOptions) -> None:
    files = [(o.format, o.path) for o in options.outputs if o.path is not None]
    summaries = outputs.summary_files(options.summary)
    style = Style(options.color, options.verbose, outputs.elsewhere(files, summaries))
    for output in options.outputs:
        # Colour is for the terminal; a file keeps plain text whatever standard output is.
        text = FORMATS[output.format](result, style if output.path is None else style._replace(color=False))
        if output.path is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            output.path.parent.mkdir(parents=True, exist_ok=True)
            output.path.write_text(text)
    outputs.append_summaries(result, style, summaries)
    if options.summary is not None:
        files.append(("summary", options.summary))
    outputs.write_step_outputs(result, files)
