#!/usr/bin/env python3
"""Generates the leak-scan benchmark repository.

A Receptor-shaped tree (setup.conf, .gitignore, docker/ copied from this
repository, a laid-out project folder receptor-dev/ with its .env) plus
filler source files, with a known number of Supabase secrets of each kind
planted at recorded file:line places. Deterministic for a given seed.

Writes, beside the tree (never inside it, so no scanner sees them):
  planted.json  one record per planted secret: kind, path, line
  values.txt    every planted string, one per line, for `git grep -F -f`
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import random
import shutil
import string
import time

DASHES = "-" * 5  # keeps the armour lines of this script from looking like keys
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
PUBLISHED_JWT_SECRET = "your-super-secret-jwt-token-with-at-least-32-characters-long"

WORDS = (
    "let mut self fn return match some none result error value config stack service "
    "receptor supabase postgres kong auth rest realtime storage studio function query "
    "table column index row select insert update delete where order limit offset "
    "user session token header payload signature request response client server "
    "migration schema policy role grant revoke vault secret key rotate verify setup"
).split()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(secret: str, role: str, iss: str, rng: random.Random) -> str:
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    iat = 1_700_000_000 + rng.randrange(10_000_000)
    claims = {"role": role, "iss": iss, "iat": iat, "exp": iat + 5 * 365 * 24 * 3600}
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = b64url(hmac.new(secret.encode(), signing_input, hashlib.sha256).digest())
    return f"{header}.{payload}.{signature}"


def rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def filler_line(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.70:
        words = " ".join(rng.choices(WORDS, k=rng.randint(4, 14)))
        return "    " * rng.randint(0, 3) + words
    if kind < 0.85:
        name = "_".join(rng.choices(WORDS, k=2))
        return f"    let {name} = {name}.{rng.choice(WORDS)}({rng.randint(0, 9999)});"
    if kind < 0.95:
        return f"// see commit {rand(rng, HEX, 40)} and https://example.com/{rng.choice(WORDS)}/{rng.randint(1, 999)}"
    return f"    assert_eq!({rng.choice(WORDS)}, \"{rng.choice(WORDS)}-{rng.randint(0, 99)}\");"


def project_env(repo: str, rng: random.Random) -> dict:
    """The receptor-dev/.env of the tree: its values are the known values to find."""
    secret = rand(rng, ALNUM, 40)
    values = {
        "POSTGRES_PASSWORD": rand(rng, HEX, 32),
        "JWT_SECRET": secret,
        "ANON_KEY": jwt(secret, "anon", "supabase", rng),
        "SERVICE_ROLE_KEY": jwt(secret, "service_role", "supabase", rng),
        "DASHBOARD_PASSWORD": rand(rng, ALNUM, 32),
        "SECRET_KEY_BASE": rand(rng, ALNUM, 64),
        "VAULT_ENC_KEY": rand(rng, HEX, 32),
        "REALTIME_DB_ENC_KEY": rand(rng, HEX, 16),
        "PG_META_CRYPTO_KEY": rand(rng, ALNUM, 32),
        "LOGFLARE_PUBLIC_ACCESS_TOKEN": rand(rng, ALNUM, 32),
        "LOGFLARE_PRIVATE_ACCESS_TOKEN": rand(rng, ALNUM, 32),
        "S3_PROTOCOL_ACCESS_KEY_ID": rand(rng, HEX, 32),
        "S3_PROTOCOL_ACCESS_KEY_SECRET": rand(rng, HEX, 64),
    }
    with open(os.path.join(repo, "docker", ".env.example")) as f:
        example = f.read()
    lines = []
    for line in example.splitlines():
        key = line.split("=", 1)[0]
        lines.append(f"{key}={values[key]}" if key in values and "=" in line else line)
    return values, "\n".join(lines) + "\n", "receptor-dev"


def planted_secrets(rng: random.Random, env: dict, counts: dict) -> list:
    """(kind, lines) for each secret to plant; the first line is the one reported."""
    plants = []
    for _ in range(counts["jwt"]):
        token = jwt(rand(rng, ALNUM, 40), rng.choice(["anon", "service_role"]), "supabase", rng)
        plants.append(("jwt", [f'const SUPABASE_KEY = "{token}";']))
    for _ in range(counts["jwt-published"]):
        token = jwt(PUBLISHED_JWT_SECRET, rng.choice(["anon", "service_role"]), "supabase-demo", rng)
        plants.append(("jwt-published", [f"ANON_KEY={token}"]))
    for _ in range(counts["sb-secret"]):
        key = "sb_" + "secret_" + rand(rng, ALNUM, 22) + "_" + rand(rng, ALNUM, 8)
        plants.append(("sb-secret", [f"SUPABASE_SECRET_KEY={key}"]))
    labels = ["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY"]
    for _ in range(counts["private-key"]):
        label = rng.choice(labels)
        body = [base64.b64encode(rng.randbytes(48)).decode() for _ in range(rng.randint(4, 12))]
        plants.append(("private-key", [f"{DASHES}BEGIN {label}{DASHES}", *body, f"{DASHES}END {label}{DASHES}"]))
    names = [k for k in env if len(env[k]) >= 12]
    for i in range(counts["known-value"]):
        name = names[i % len(names)]
        value = env[name]
        context = rng.choice(
            [
                f"{name.lower()} = \"{value}\"",
                f"DATABASE_URL=postgres://postgres:{value}@db:5432/postgres",
                f"# pasted while debugging: {value}",
                f"    headers.insert(\"x-debug\", \"{value}\");",
            ]
        )
        plants.append(("known-value", [context]))
    return plants


def first_value(kind: str, lines: list, env: dict) -> str:
    """The exact planted string a tool that knows it would grep for."""
    line = lines[0]
    if kind == "private-key":
        return line
    if kind == "known-value":
        return next(v for v in env.values() if len(v) >= 12 and v in line)
    return line.split("=", 1)[1].strip().strip('";')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree", help="the folder to create (replaced when it exists)")
    parser.add_argument("--repo", default=os.path.join(os.path.dirname(__file__), ".."))
    parser.add_argument("--files", type=int, default=12_000)
    parser.add_argument("--mbytes", type=int, default=110)
    parser.add_argument("--seed", type=int, default=20261128)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.time()

    tree = os.path.abspath(args.tree)
    shutil.rmtree(tree, ignore_errors=True)
    os.makedirs(tree)
    shutil.copytree(os.path.join(args.repo, "docker"), os.path.join(tree, "docker"))
    for name in ["setup.conf", ".gitignore"]:
        shutil.copy(os.path.join(args.repo, name), os.path.join(tree, name))

    env, env_text, folder = project_env(tree, rng)
    project = os.path.join(tree, folder)
    os.makedirs(project, mode=0o700)
    shutil.copy(os.path.join(tree, "docker", "docker-compose.yml"), project)
    with open(os.path.join(project, ".gitignore"), "w") as f:
        f.write("*\n")
    fd = os.open(os.path.join(project, ".env"), os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(env_text)

    counts = {"jwt": 40, "jwt-published": 20, "sb-secret": 40, "private-key": 30, "known-value": 60}
    plants = planted_secrets(rng, env, counts)
    by_file = {}
    for plant in plants:
        by_file.setdefault(rng.randrange(args.files), []).append(plant)

    extensions = ["rs", "py", "ts", "md", "txt", "yml"]
    average = args.mbytes * 1_000_000 // args.files
    records, values, total = [], [], 0
    for n in range(args.files):
        path = f"src/module{n // 100:03d}/file{n:05d}.{extensions[n % len(extensions)]}"
        target = rng.randint(average // 2, average * 3 // 2)
        lines, size = [], 0
        while size < target:
            line = filler_line(rng)
            lines.append(line)
            size += len(line) + 1
        # Each plant goes before a chosen filler line; lines are counted as the file is built.
        placed = sorted((rng.randint(0, len(lines)), i, p) for i, p in enumerate(by_file.get(n, [])))
        out_lines = []
        for at in range(len(lines) + 1):
            while placed and placed[0][0] == at:
                _, _, (kind, plant_lines) = placed.pop(0)
                records.append({"kind": kind, "path": path, "line": len(out_lines) + 1})
                values.append(first_value(kind, plant_lines, env))
                out_lines.extend(plant_lines)
            if at < len(lines):
                out_lines.append(lines[at])
        text = "\n".join(out_lines) + "\n"
        full = os.path.join(tree, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
        total += len(text)

    out = os.path.dirname(tree)
    with open(os.path.join(out, "planted.json"), "w") as f:
        json.dump({"counts": counts, "bytes": total, "files": args.files, "planted": records}, f, indent=1)
    with open(os.path.join(out, "values.txt"), "w") as f:
        f.write("\n".join(sorted(set(values))) + "\n")
    print(f"generated {args.files} files, {total / 1e6:.1f} MB, {len(records)} planted secrets "
          f"in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
