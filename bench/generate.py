#!/usr/bin/env python3
"""Generates the leak-scan benchmark repository.

A Receptor-shaped tree (setup.conf, .gitignore, docker/ copied from this
repository, a laid-out project folder receptor-dev/ with its .env) plus
filler source files, with a known number of Supabase secrets of each kind
planted at recorded file:line places. Deterministic for a given seed.

Writes, beside the tree (never inside it, so no scanner sees them):
  planted.json  one record per planted string: kind, path, line (the kind
                `sb-publishable` is public: a scanner must not report it)
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
PUBLIC_KINDS = {"sb-publishable"}  # planted, but public: a scanner must not report them
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


def jwt(secret: str, role: str, iss: str, rng: random.Random, indent=None) -> str:
    """An HS256 key; with `indent`, its JSON pretty-printed as Supabase's demo keys are."""
    separators = (",", ":") if indent is None else (",", ": ")
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, indent=indent, separators=separators).encode())
    iat = 1_700_000_000 + rng.randrange(10_000_000)
    claims = {"role": role, "iss": iss, "iat": iat, "exp": iat + 5 * 365 * 24 * 3600}
    payload = b64url(json.dumps(claims, indent=indent, separators=separators).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = b64url(hmac.new(secret.encode(), signing_input, hashlib.sha256).digest())
    return f"{header}.{payload}.{signature}"


def es256_shaped(role: str, rng: random.Random) -> str:
    """An ES256 API key as upstream's add-new-auth-keys.sh writes it (the signature is random
    bytes of the right length: no scanner here has the public key to check it)."""
    kid = f"{rand(rng, HEX, 8)}-{rand(rng, HEX, 4)}-4{rand(rng, HEX, 3)}-a{rand(rng, HEX, 3)}-{rand(rng, HEX, 12)}"
    header = b64url(json.dumps({"alg": "ES256", "typ": "JWT", "kid": kid}, separators=(",", ":")).encode())
    iat = 1_700_000_000 + rng.randrange(10_000_000)
    claims = {"role": role, "iss": "supabase", "iat": iat, "exp": iat + 5 * 365 * 24 * 3600}
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    return f"{header}.{payload}.{b64url(rng.randbytes(64))}"


def opaque(prefix: str, rng: random.Random) -> str:
    """An sb_ key as upstream makes it: 22 random base64url characters and the checksum
    computed with the self-hosted project ref."""
    inter = prefix + b64url(rng.randbytes(17))[:22]
    checksum = b64url(hashlib.sha256(f"supabase-self-hosted|{inter}".encode()).digest())[:8]
    return f"{inter}_{checksum}"


def jwt_keys(rng: random.Random) -> str:
    """A JWT_KEYS value: the EC private JWK (with d) and the oct key of some JWT_SECRET."""
    ec = {"kty": "EC", "kid": rand(rng, HEX, 32), "use": "sig", "key_ops": ["sign", "verify"], "alg": "ES256",
          "ext": True, "crv": "P-256", "x": b64url(rng.randbytes(32)), "y": b64url(rng.randbytes(32)),
          "d": b64url(rng.randbytes(32))}
    oct_key = {"kty": "oct", "k": b64url(rand(rng, ALNUM, 40).encode()), "alg": "HS256"}
    return json.dumps([ec, oct_key], separators=(",", ":"))


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
    for _ in range(counts["jwt-pretty"]):
        token = jwt(rand(rng, ALNUM, 40), rng.choice(["anon", "service_role"]), "supabase", rng, indent=2)
        plants.append(("jwt-pretty", [f'const SUPABASE_KEY = "{token}";']))
    for _ in range(counts["jwt-es256"]):
        plants.append(("jwt-es256", [f"SERVICE_ROLE_KEY_ASYMMETRIC={es256_shaped('service_role', rng)}"]))
    for _ in range(counts["sb-secret"]):
        plants.append(("sb-secret", [f"SUPABASE_SECRET_KEY={opaque('sb_' + 'secret_', rng)}"]))
    for _ in range(counts["jwk-private"]):
        plants.append(("jwk-private", [f"JWT_KEYS='{jwt_keys(rng)}'"]))
    for _ in range(counts["sb-publishable"]):
        plants.append(("sb-publishable", [f"SUPABASE_PUBLISHABLE_KEY={opaque('sb_publishable_', rng)}"]))
    labels = ["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY"]
    for _ in range(counts["private-key"]):
        label = rng.choice(labels)
        body = [base64.b64encode(rng.randbytes(48)).decode() for _ in range(rng.randint(4, 12))]
        plants.append(("private-key", [f"{DASHES}BEGIN {label}{DASHES}", *body, f"{DASHES}END {label}{DASHES}"]))
    for _ in range(counts["assigned"]):
        name, value = rng.choice([
            ("POSTGRES_PASSWORD", rand(rng, HEX, 32)),
            ("JWT_SECRET", rand(rng, ALNUM, 40)),
            ("VAULT_ENC_KEY", rand(rng, HEX, 32)),
            ("DASHBOARD_PASSWORD", rand(rng, ALNUM, 32)),
        ])
        plants.append(("assigned", [rng.choice([f"      {name}: {value}", f"{name}={value}"])]))
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
    if kind == "assigned":
        return line.replace(":", "=", 1).split("=", 1)[1].strip()
    return line.split("=", 1)[1].strip().strip('";\'')


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

    counts = {"jwt": 40, "jwt-published": 20, "jwt-pretty": 20, "jwt-es256": 20, "sb-secret": 40,
              "private-key": 30, "jwk-private": 20, "assigned": 20, "known-value": 60, "sb-publishable": 20}
    plants = planted_secrets(rng, env, counts)
    extensions = ["rs", "py", "ts", "md", "txt", "yml"]
    by_file = {}
    for plant in plants:
        n = rng.randrange(args.files)
        if plant[0] == "assigned":
            # Configuration is assigned in configuration files (Markdown, text, YAML), not in code.
            n = n - n % len(extensions) + rng.choice([3, 4, 5])
            n = n if n < args.files else n - len(extensions)
        by_file.setdefault(n, []).append(plant)

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
                if kind not in PUBLIC_KINDS:
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
