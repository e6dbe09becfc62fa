#!/usr/bin/env python3
"""The naive legacy rotation's edit, for bench/rotation-downtime.sh: a new JWT_SECRET and
ANON_KEY / SERVICE_ROLE_KEY signed with it (HS256, Supabase's claims), written into the
.env named on the command line in place (mode 0600). Nothing is printed. The database's
copy of the secret is left as it was, as a hand edit of .env leaves it.

    naive_jwt_secret.py PROJECT/.env
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
import sys
import time


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint(secret, role):
    now = int(time.time())
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = b64(json.dumps({"role": role, "iss": "supabase", "iat": now, "exp": now + 5 * 365 * 86400}).encode())
    signature = hmac.new(secret.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{b64(signature)}"


def main():
    path = sys.argv[1]
    secret = secrets.token_urlsafe(48)[:64]
    new = {"JWT_SECRET": secret, "ANON_KEY": mint(secret, "anon"), "SERVICE_ROLE_KEY": mint(secret, "service_role")}
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    out = []
    for line in lines:
        name = line.split("=", 1)[0]
        out.append(f"{name}={new[name]}" if name in new and "=" in line else line)
    temporary = path + ".naive"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(out) + "\n")
    os.replace(temporary, path)


if __name__ == "__main__":
    main()
