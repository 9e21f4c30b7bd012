#!/usr/bin/env python3
"""Fails when a Markdown link in the repository points at a file or a heading that does not exist.

Checks every tracked *.md file (or the files given), for each [text](target) outside code spans
and fenced blocks: a relative target must name an existing file or directory, and a #fragment must
be the GitHub anchor of a heading in the target Markdown file (or in the same file for (#fragment)).
Web links (http:, https:, mailto:) are not fetched. Prints each broken link as FILE:LINE: why, and
exits 1 if there is one, 0 if there is none.

Usage: scripts/check_links.py [--root DIR] [FILE.md ...]
"""

import argparse
import re
import subprocess
import sys
from pathlib import Path

LINK = re.compile(r"\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^()\s]+(?:\([^()]*\))?[^()\s]*)\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lowercase, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a linked heading keeps its text
    text = text.lower()
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def lines_outside_code(path: Path):
    """(line number, text) of the file's lines outside fenced blocks, inline code removed."""
    fenced = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, re.sub(r"`[^`]*`", "", line)


def anchors(path: Path, cache: dict) -> set:
    """Every heading anchor of a Markdown file, with GitHub's -1, -2 suffixes for repeats."""
    if path not in cache:
        seen: dict = {}
        found = set()
        fenced = False
        for line in path.read_text(encoding="utf-8").splitlines():
            if FENCE.match(line):
                fenced = not fenced
                continue
            match = None if fenced else HEADING.match(line)
            if match:
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
        for number, line in lines_outside_code(md):
            for match in LINK.finditer(line):
                target = match.group(1)
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):
                    continue  # http:, https:, mailto:
                path_part, _, fragment = target.partition("#")
                resolved = (md.parent / path_part).resolve() if path_part else md
                shown = md.relative_to(root)
                if not resolved.exists():
                    yield shown, number, f"{target}: no such file"
                    continue
                if fragment and resolved.suffix == ".md" and fragment not in anchors(resolved, cache):
                    yield shown, number, f"{target}: no heading '#{fragment}' in {resolved.relative_to(root)}"


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
