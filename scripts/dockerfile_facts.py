"""Read what scripts/check_container_build.sh replays out of a Dockerfile, so the replay
follows the file instead of a copy of it that could drift.

    python3 scripts/dockerfile_facts.py copies FILE       # build stage: "SRC [SRC...] DEST"
    python3 scripts/dockerfile_facts.py env FILE          # run stage ENV, NAME=VALUE lines
    python3 scripts/dockerfile_facts.py healthcheck FILE  # the HEALTHCHECK CMD, NUL-separated
    python3 scripts/dockerfile_facts.py apt FILE          # apt-get install pins, NAME=VERSION

Only the forms our Dockerfiles use are understood (exec-form CMD, `ENV A=B C=D`); anything
else is an error, so a Dockerfile change the replay cannot follow fails loudly.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, rest = line.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def stages(path: Path) -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions(path):
        if keyword == "FROM":
            found.append([])
        if not found:
            raise SystemExit(f"{path}: {keyword} before the first FROM")
        found[-1].append((keyword, rest))
    return found


def copies(path: Path) -> list[str]:
    """The first stage's COPY instructions (from the build context), as 'SRC... DEST'."""
    lines = []
    for keyword, rest in stages(path)[0]:
        if keyword == "COPY":
            if rest.startswith("--"):
                raise SystemExit(f"{path}: COPY {rest}: flags are not replayed")
            lines.append(" ".join(shlex.split(rest)))
    return lines


def env(path: Path) -> list[str]:
    """The last stage's ENV values (what the container runs with)."""
    lines = []
    for keyword, rest in stages(path)[-1]:
        if keyword == "ENV":
            for item in shlex.split(rest):
                if "=" not in item:
                    raise SystemExit(f"{path}: ENV {rest}: use the NAME=VALUE form")
                lines.append(item)
    return lines


def healthcheck(path: Path) -> list[str]:
    """The last stage's HEALTHCHECK command (exec form)."""
    for keyword, rest in stages(path)[-1]:
        if keyword == "HEALTHCHECK":
            match = re.search(r"\bCMD\s+(\[.*\])\s*$", rest)
            if not match:
                raise SystemExit(f"{path}: HEALTHCHECK {rest}: not an exec-form CMD")
            command = json.loads(match.group(1))
            if not all(isinstance(part, str) for part in command):
                raise SystemExit(f"{path}: HEALTHCHECK CMD must be strings")
            return [str(part) for part in command]
    raise SystemExit(f"{path}: no HEALTHCHECK in the last stage")


def apt(path: Path) -> list[str]:
    """Every NAME=VERSION an `apt-get install` in the file names."""
    pins = []
    for keyword, rest in instructions(path):
        if keyword == "RUN" and "apt-get install" in rest:
            pins += [w for w in shlex.split(rest) if re.fullmatch(r"[a-z0-9][a-z0-9+.-]*=\S+", w)]
    return pins


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in ("copies", "env", "healthcheck", "apt"):
        print(__doc__, file=sys.stderr)
        return 2
    path = Path(argv[2])
    if argv[1] == "healthcheck":
        sys.stdout.write("\0".join(healthcheck(path)) + "\0")
        return 0
    facts = {"copies": copies, "env": env, "apt": apt}[argv[1]](path)
    print("\n".join(facts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
