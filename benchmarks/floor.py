#!/usr/bin/env python3
"""The floor: the least work any validator of a tiergate repository must do.

Walks the repository (skipping .git), reads every file, sha256-hashes every records file and
every eval set, parses every YAML file with PyYAML's C loader, and json-parses every line of
every .jsonl file. Prints one summary line. Standard library plus PyYAML only; it imports
nothing from tiergate.

    python benchmarks/floor.py REPO
"""

from __future__ import annotations

import hashlib
import json
import os
import sys

import yaml

RECORDS_SUFFIX = ".records.jsonl"
DATASETS = os.path.join("evals", "datasets") + os.sep


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: floor.py REPO", file=sys.stderr)
        return 2
    root = os.path.abspath(argv[1])
    files = hashed = yamls = lines = nbytes = 0
    digest_xor = 0  # folds every digest in, so the hashing cannot be skipped as dead work
    for folder, dirs, names in os.walk(root):
        if ".git" in dirs:
            dirs.remove(".git")
        dirs.sort()
        rel_folder = os.path.relpath(folder, root)
        for name in sorted(names):
            path = os.path.join(folder, name)
            with open(path, "rb") as handle:
                data = handle.read()
            files += 1
            nbytes += len(data)
            rel = os.path.join(rel_folder, name) if rel_folder != "." else name
            if name.endswith(".jsonl"):
                if name.endswith(RECORDS_SUFFIX) or rel.startswith(DATASETS):
                    digest_xor ^= int.from_bytes(hashlib.sha256(data).digest()[:8], "big")
                    hashed += 1
                for line in data.decode("utf-8").splitlines():
                    if line.strip():
                        json.loads(line)
                        lines += 1
            elif name.endswith((".yaml", ".yml")):
                yaml.load(data.decode("utf-8"), Loader=yaml.CSafeLoader)
                yamls += 1
    print(f"floor: {files} files, {nbytes} bytes, {hashed} hashed, {yamls} YAML parsed, {lines} JSON lines parsed, "
          f"digest fold {digest_xor:016x}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
