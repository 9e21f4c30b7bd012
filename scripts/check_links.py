#!/usr/bin/env python3
"""Fails when a Markdown link in the repository points at a file or a heading that does not exist.

Checks every tracked *.md file (or the files given): inline links [text](target), with or without
a title or angle brackets, and reference definitions [label]: target, outside fenced blocks, code
spans and HTML comments, a link's text may wrap onto the next lines. A relative target (or one
starting with / for the repository's root) must name an existing file or directory, and a
#fragment must be the GitHub anchor of a heading in the target Markdown file (the same file for a
bare #fragment). Web links (http:, https:, mailto:) are not fetched, and a target outside the
repository (../shared/SPEC.md) is not this repository's to check. Prints each broken link as
FILE:LINE: why, and exits 1 if there is one, 0 if there is none.

Usage: scripts/check_links.py [--root DIR] [FILE.md ...]
"""

import argparse
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

# [text](target) or [text](target "title") or [text](<target>); the text may hold [nested] brackets.
INLINE = re.compile(
    r"\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*(<[^>\n]*>|[^()\s]+(?:\([^()\s]*\)[^()\s]*)*)(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)"
)
DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>\n]*>|\S+)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: its text lowercased, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a linked heading keeps its text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML contributes its text only
    text = text.lower()
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def blocks(path: Path):
    """(first line number, text) of each paragraph outside fenced blocks: the lines of a paragraph
    joined, so a link that wraps is one string; a heading is a block of its own."""
    fence = None
    lines: list = []
    first = 0

    def flush():
        if lines:
            yield first, "\n".join(lines)

    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        opened = FENCE.match(line)
        if fence is not None:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
            continue
        if opened:
            yield from flush()
            lines, fence = [], opened.group(1)
            continue
        if not line.strip() or HEADING.match(line):
            yield from flush()
            lines = []
            if line.strip():
                yield number, line
            continue
        if not lines:
            first = number
        lines.append(line)
    yield from flush()


def targets(block: str):
    """(line offset within the block, target) of each link in a block, code spans and comments removed."""

    def blank(match: re.Match) -> str:
        return re.sub(r"[^\n]", " ", match.group(0))  # keeps the newlines, so offsets stay right

    text = CODE_SPAN.sub(blank, COMMENT.sub(blank, block))
    for match in INLINE.finditer(text):
        yield text.count("\n", 0, match.start()), match.group(1)
    for offset, line in enumerate(text.split("\n")):
        definition = DEFINITION.match(line)
        if definition:
            yield offset, definition.group(1)


def anchors(path: Path, cache: dict) -> set:
    """Every heading anchor of a Markdown file, with GitHub's -1, -2 suffixes for repeats."""
    if path not in cache:
        seen: dict = {}
        found = set()
        for _, block in blocks(path):
            match = HEADING.match(block)
            if match and "\n" not in block:
                anchor = github_anchor(match.group(2))
                count = seen.get(anchor, 0)
                seen[anchor] = count + 1
                found.add(anchor if count == 0 else f"{anchor}-{count}")
        cache[path] = found
    return cache[path]


def broken_links(files, root: Path):
    """Yields (file, line, why) for each link that does not resolve."""
    cache: dict = {}
    for md in files:
        shown = md.relative_to(root) if md.is_relative_to(root) else md
        for first, block in blocks(md):
            for offset, target in targets(block):
                target = target.strip("<>")
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):
                    continue  # http:, https:, mailto:
                path_part, _, fragment = target.partition("#")
                path_part = unquote(path_part.partition("?")[0])
                if path_part.startswith("/"):
                    resolved = (root / path_part.lstrip("/")).resolve()
                else:
                    resolved = (md.parent / path_part).resolve() if path_part else md
                if not resolved.is_relative_to(root):
                    continue  # another repository's file: not this one's to check
                line = first + offset
                if not resolved.exists():
                    yield shown, line, f"{target}: no such file"
                    continue
                if fragment and resolved.suffix == ".md" and unquote(fragment) not in anchors(resolved, cache):
                    yield shown, line, f"{target}: no heading '#{fragment}' in {resolved.relative_to(root)}"


def main() -> int:
    """Checks the links and reports each broken one."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=Path(__file__).resolve().parent.parent, type=Path)
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args()
    root = args.root.resolve()
    if args.files:
        files = [f.resolve() for f in args.files]
    else:
        listed = subprocess.run(["git", "ls-files", "*.md"], cwd=root, capture_output=True, text=True, check=True)
        files = [root / name for name in listed.stdout.split()]
    broken = list(broken_links(files, root))
    for shown, number, why in broken:
        print(f"{shown}:{number}: broken link {why}", file=sys.stderr)
    if broken:
        print(f"links: {len(broken)} broken in {len(files)} Markdown files", file=sys.stderr)
        return 1
    print(f"links: every link in {len(files)} Markdown files resolves")
    return 0


if __name__ == "__main__":
    sys.exit(main())
