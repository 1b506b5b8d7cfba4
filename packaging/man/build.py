"""Write pipex's man pages from the CLI itself: pipex(1) and one pipex-COMMAND(1) per command.

The pages are built from the same click objects that print ``--help`` (plain help: ``PIPEX_PLAIN_HELP=1``),
so they cannot drift from the CLI. Debian's rules and the RPM spec run it after installing the package:

    PYTHONPATH=<installed site-packages> python3 packaging/man/build.py --output <dir>/usr/share/man/man1

The page date is ``SOURCE_DATE_EPOCH`` when set (dpkg and rpmbuild set it), so builds are reproducible.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
from pathlib import Path
from typing import Any

os.environ.setdefault("PIPEX_PLAIN_HELP", "1")

SEE_ALSO = ("podman(1)", "docker(1)")


def roff(text: str) -> str:
    """Escape text for roff: backslashes, hyphens (as minus signs), and control characters at line starts."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join("\\&" + line if line.startswith((".", "'")) else line for line in text.splitlines())


def paragraphs(text: str) -> str:
    """Plain help text (paragraphs separated by blank lines) as roff paragraphs; indented lines kept verbatim."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text.strip("\n")):
        if block.startswith("  "):  # an example line: no filling
            out += [".PP", ".nf", roff(block.strip()), ".fi"]
        else:
            out += [".PP", roff(" ".join(block.split()))]
    return "\n".join(out)


def notes(epilog: str) -> str:
    """The epilog as an EXAMPLES section (it starts with "Examples:"), else as NOTES."""
    if epilog.startswith("Examples:"):
        return ".SH EXAMPLES\n" + paragraphs(epilog.removeprefix("Examples:"))
    return ".SH NOTES\n" + paragraphs(epilog)


def options(command: Any, ctx: Any) -> str:
    out: list[str] = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, help_text = record
        out += [".TP", f"\\fB{roff(names)}\\fR", roff(" ".join(help_text.split())) or "\\&"]
    return "\n".join(out)


def page(title: str, section_name: str, summary: str, synopsis: str, body: list[str], date: str, version: str) -> str:
    head = [
        f'.TH {title.upper()} 1 "{date}" "pipex {version}" "User Commands"',
        ".SH NAME",
        f"{roff(section_name)} \\- {roff(summary)}",
        ".SH SYNOPSIS",
        synopsis,
    ]
    return "\n".join(head + body) + "\n"


def build(output: Path) -> list[Path]:
    import typer

    from pipex.cli.app import app
    from pipex.cli.main import version

    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", datetime.datetime.now(datetime.UTC).timestamp()))
    date = datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%d")
    group = typer.main.get_command(app)
    # make_context, not click.Context: recent typer vendors click, so `import click` may not be its click.
    root_ctx = group.make_context("pipex", [], resilient_parsing=True)
    names = group.list_commands(root_ctx)  # type: ignore[attr-defined]
    output.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def first_sentence(help_text: str | None) -> str:
        return (help_text or "").strip().split("\n\n")[0].rstrip(".").replace("\n", " ")

    commands = []
    for name in names:
        cmd = group.get_command(root_ctx, name)  # type: ignore[attr-defined]
        assert cmd is not None
        commands += [".TP", f"\\fBpipex {roff(name)}\\fR", roff(first_sentence(cmd.help))]
    see_also = ", ".join(
        [*(f"\\fBpipex\\-{roff(n)}\\fR(1)" for n in names), *(f"\\fB{s.split('(')[0]}\\fR(1)" for s in SEE_ALSO)]
    )
    body = [
        ".SH DESCRIPTION",
        paragraphs(group.help or ""),
        ".SH OPTIONS",
        options(group, root_ctx),
        ".SH COMMANDS",
        "\n".join(commands),
        ".PP",
        "Each command has its own page, and prints its help with \\fB\\-\\-help\\fR.",
        notes(group.epilog or ""),
        ".SH SEE ALSO",
        see_also,
    ]
    synopsis = ".B pipex\n[\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]..."
    path = output / "pipex.1"
    path.write_text(page("pipex", "pipex", first_sentence(group.help), synopsis, body, date, version()))
    written.append(path)

    for name in names:
        cmd = group.get_command(root_ctx, name)  # type: ignore[attr-defined]
        assert cmd is not None
        ctx = cmd.make_context(name, [], parent=root_ctx, resilient_parsing=True)
        usage = " ".join(cmd.collect_usage_pieces(ctx))
        synopsis = f".B pipex {roff(name)}\n{roff(usage)}"
        body = [".SH DESCRIPTION", paragraphs(cmd.help or ""), ".SH OPTIONS", options(cmd, ctx)]
        if cmd.epilog:
            body.append(notes(cmd.epilog))
        body += [".SH SEE ALSO", "\\fBpipex\\fR(1)"]
        path = output / f"pipex-{name}.1"
        path.write_text(
            page(f"pipex-{name}", f"pipex-{name}", first_sentence(cmd.help), synopsis, body, date, version())
        )
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, required=True, help="directory for the .1 files")
    for path in build(parser.parse_args().output):
        print(path)


if __name__ == "__main__":
    main()
