#!/usr/bin/env python3
"""Runs the leak scanners side by side on the benchmark tree, times them, and
counts how many planted secrets each finds (a report on the planted file:line).

usage: compare.py TREE XTASK [--peers VENV_BIN] [--detect-secrets]
--peers names the folder holding kingfisher and betterleaks (and, with
--detect-secrets, detect-secrets, which takes about 17 minutes). Prints a
Markdown table; TREE/../results.md gets a copy. Kinds planted as public
(`sb-publishable`) must not be reported: their column counts reports.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def timed(argv, cwd, runs):
    """(median seconds, stdout of the last run)."""
    times, out = [], b""
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1, 200):  # kingfisher exits 200 when it finds something
            sys.exit(f"{argv[0]} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
        out = proc.stdout
    return statistics.median(times), out


def xtask_places(out):
    report = json.loads(out)
    places = set()
    for check in report["checks"]:
        if check["id"].startswith("repo.leak-"):
            for finding in check["findings"]:
                places.add((finding["where"]["file"], finding["where"]["line"]))
    return places


def grep_places(out):
    places = set()
    for line in out.decode(errors="replace").splitlines():
        path, number, _ = line.split(":", 2)
        places.add((path, int(number)))
    return places


def betterleaks_places(out):
    report = json.loads(out or b"{}")
    return {(f["location"]["path"].removeprefix("./"), f["location"]["start_line"]) for f in report.get("findings") or []}


def kingfisher_places(out):
    report = json.loads(out or b"{}")
    return {(f["finding"]["path"].removeprefix("./"), f["finding"]["line"]) for f in report.get("findings") or []}


def detect_secrets_places(out):
    baseline = json.loads(out)
    return {(path, r["line_number"]) for path, results in baseline["results"].items() for r in results}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree")
    parser.add_argument("xtask")
    parser.add_argument("--peers", help="folder holding kingfisher, betterleaks (and detect-secrets)")
    parser.add_argument("--detect-secrets", action="store_true")
    args = parser.parse_args()
    tree, xtask = os.path.abspath(args.tree), os.path.abspath(args.xtask)
    here = os.path.dirname(tree)
    with open(os.path.join(here, "planted.json")) as f:
        planted = json.load(f)
    files = subprocess.run(["git", "ls-files", "-z"], cwd=tree, stdout=subprocess.PIPE, check=True).stdout
    paths = [p for p in files.decode().split("\0") if p]
    megabytes = sum(os.path.getsize(os.path.join(tree, p)) for p in paths) / 1e6

    # Warm the page cache so every tool reads from memory.
    subprocess.run(["git", "grep", "-q", "-F", "no-such-string-anywhere"], cwd=tree)

    tools = [
        ("cargo xtask verify (repo scope, release)", [xtask, "verify", "--format", "json"], 3, xtask_places),
        ("git grep -F (knows every value: the floor)",
         ["git", "grep", "-F", "-n", "--no-color", "-f", os.path.join(here, "values.txt")], 3, grep_places),
    ]
    if args.peers:
        peers = os.path.abspath(args.peers)
        tools.append(("kingfisher 2.14.0 scan (no validation)",
                      [os.path.join(peers, "kingfisher"), "scan", ".", "--git-history", "none", "--no-validate",
                       "--no-dedup", "--no-update-check", "-q", "-f", "json"], 1, kingfisher_places))
        tools.append(("betterleaks 2.0.0 fs",
                      [os.path.join(peers, "betterleaks"), "fs", ".", "--no-banner", "-l", "error", "-o", "-"],
                      1, betterleaks_places))
        if args.detect_secrets:
            tools.append(("detect-secrets 1.5.0 scan", [os.path.join(peers, "detect-secrets"), "scan"], 1,
                          detect_secrets_places))
    public = {"sb-publishable"}
    kinds = list(planted["counts"])
    places = {(p["path"], p["line"]): p["kind"] for p in planted["planted"]}
    secret_places = {place for place, kind in places.items() if kind not in public}
    rows = []
    for name, argv, runs, parse in tools:
        seconds, out = timed(argv, tree, runs)
        found = parse(out)
        per_kind = {k: sum(1 for place, kind in places.items() if kind == k and place in found) for k in kinds}
        other = len(found - set(places))
        total = sum(n for k, n in per_kind.items() if k not in public)
        rows.append((name, seconds, megabytes / seconds, per_kind, total, other))

    header = ["tool", "time (s)", "MB/s"] + [
        f"{k} reported (public: 0 is right)" if k in public else f"{k} /{planted['counts'][k]}" for k in kinds] + [
        f"all /{len(secret_places)}", "other reports"]
    lines = [
        f"Tree: {len(paths)} tracked files, {megabytes:.1f} MB; {len(secret_places)} planted secrets "
        f"and {len(places) - len(secret_places)} public keys.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for name, seconds, rate, per_kind, total, other in rows:
        cells = [name, f"{seconds:.2f}", f"{rate:.0f}" if rate >= 10 else f"{rate:.2f}"] + [str(per_kind[k]) for k in kinds] + [str(total), str(other)]
        lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(os.path.join(here, "results.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
