"""Summarise a py-spy profile (`py-spy record --format raw`: one `frame;frame;… count` line per stack).

    python bench/_profile.py profile.txt [--top 25]

prints the functions with the largest inclusive share of the samples (time on the stack) and self share (time
at the top of the stack), by `function (module path)` with line numbers dropped; the intake benchmark runs it
on the referrals process under wrk (`--profile`).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_LINE = re.compile(r":\d+\)$")


def _frame(raw: str) -> str:
    name = _LINE.sub(")", raw.strip())
    return (
        name.replace("/site-packages/", "/…/").split("/…/")[-1]
        if "/…/" in name.replace("/site-packages/", "/…/")
        else name
    )


def summarise(path: Path, top: int) -> str:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_frame(f) for f in stack.split(";") if f]
        for name in set(frames):
            inclusive[name] += n
        if frames:
            own[frames[-1]] += n
    if not total:
        return "no samples"
    out = [f"{total} samples", f"top {top} by inclusive share (on the stack):"]
    out += [f"  {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    out += [f"top {top} by self share (running):"]
    out += [f"  {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    print(summarise(args.profile, args.top))


if __name__ == "__main__":
    main()
