#!/bin/sh
# Entrypoint of the kong service: renders Kong's declarative config from the
# template volumes/api/kong.yml, then starts Kong.
#
# Opaque API keys (sb_publishable_…, sb_secret_…) mean nothing to the services
# behind Kong. The request-transformer expressions built here turn them into
# the ES256 JWT of their role, which the services verify under JWT_JWKS:
#   - an Authorization header that is not `Bearer sb_…` (a user's session) is
#     passed on as it is;
#   - apikey SUPABASE_SECRET_KEY      -> Bearer SERVICE_ROLE_KEY_ASYMMETRIC;
#   - apikey SUPABASE_PUBLISHABLE_KEY -> Bearer ANON_KEY_ASYMMETRIC;
#   - anything else (a legacy ANON_KEY / SERVICE_ROLE_KEY) is passed on as it is.
# Realtime's WebSocket reads the key from the query string and gets the JWT in
# x-api-key; Edge Functions get it in sb-api-key, with Authorization untouched.
# Without sb_ keys the expressions keep the legacy behaviour.
# During an overlap (`cargo xtask rotate … --overlap`) the previous sb_ key,
# SUPABASE_SECRET_KEY_PREVIOUS / SUPABASE_PUBLISHABLE_KEY_PREVIOUS, is swapped
# for the same JWT as the current one; empty, it matches nothing.
#
# Secrets reach this script only through the container environment; awk reads
# them from ENVIRON, so no value is ever parsed by a shell.
set -eu

template=/home/kong/kong.tmpl.yml
out=${KONG_DECLARATIVE_CONFIG:?KONG_DECLARATIVE_CONFIG names the rendered config}

secret=${SUPABASE_SECRET_KEY:-}
publishable=${SUPABASE_PUBLISHABLE_KEY:-}
secret_previous=${SUPABASE_SECRET_KEY_PREVIOUS:-}
publishable_previous=${SUPABASE_PUBLISHABLE_KEY_PREVIOUS:-}
service_jwt=${SERVICE_ROLE_KEY_ASYMMETRIC:-}
anon_jwt=${ANON_KEY_ASYMMETRIC:-}

# Lua of the request-transformer's $(...) templates. The values are base64url
# and dots only, so they sit safely inside single-quoted Lua strings: anything
# else (a quote, a backslash, a newline from a hand-edited .env) stops Kong here,
# naming the variable and never its value.
for name in SUPABASE_SECRET_KEY SUPABASE_PUBLISHABLE_KEY SUPABASE_SECRET_KEY_PREVIOUS \
  SUPABASE_PUBLISHABLE_KEY_PREVIOUS SERVICE_ROLE_KEY_ASYMMETRIC ANON_KEY_ASYMMETRIC; do
  eval "value=\${$name:-}"
  case "$value" in
    *[!A-Za-z0-9._-]*)
      echo "kong-entrypoint: $name holds a character outside base64url and '.'; refusing to start" >&2
      exit 1
      ;;
  esac
done
session="(headers.authorization ~= nil and headers.authorization:sub(1, 10) ~= 'Bearer sb_' and headers.authorization)"

# is SUBJECT PREFIX KEY PREVIOUS: the Lua test that SUBJECT is PREFIX followed
# by KEY, or by PREVIOUS when one is set.
is() {
  if [ -n "$4" ]; then
    printf "(%s == '%s%s' or %s == '%s%s')" "$1" "$2" "$3" "$1" "$2" "$4"
  else
    printf "%s == '%s%s'" "$1" "$2" "$3"
  fi
}
if [ -n "$secret" ] && [ -n "$publishable" ]; then
  h_secret=$(is headers.apikey '' "$secret" "$secret_previous")
  h_publishable=$(is headers.apikey '' "$publishable" "$publishable_previous")
  q_secret=$(is query_params.apikey '' "$secret" "$secret_previous")
  q_publishable=$(is query_params.apikey '' "$publishable" "$publishable_previous")
  b_secret=$(is headers.authorization 'Bearer ' "$secret" "$secret_previous")
  b_publishable=$(is headers.authorization 'Bearer ' "$publishable" "$publishable_previous")
  by_apikey="($h_secret and 'Bearer $service_jwt') or ($h_publishable and 'Bearer $anon_jwt')"
  by_query="($q_secret and '$service_jwt') or ($q_publishable and '$anon_jwt')"
  raw_by_apikey="($h_secret and '$service_jwt') or ($h_publishable and '$anon_jwt')"
  raw_by_bearer="($b_secret and '$service_jwt') or ($b_publishable and '$anon_jwt')"
  LUA_AUTH_EXPR="\$($session or $by_apikey or headers.apikey)"
  LUA_RT_WS_EXPR="\$($by_query or query_params.apikey)"
  LUA_FUNCTIONS_EXPR="\$($raw_by_apikey or $raw_by_bearer or nil)"
else
  LUA_AUTH_EXPR="\$($session or headers.apikey)"
  LUA_RT_WS_EXPR="\$(query_params.apikey)"
  LUA_FUNCTIONS_EXPR="\$(nil)"
fi
export LUA_AUTH_EXPR LUA_RT_WS_EXPR LUA_FUNCTIONS_EXPR

# $NAME -> the value of that environment variable; a name the environment
# does not have stays as written. A credential line left empty (an sb_ key not
# configured) is dropped: Kong refuses an empty key.
umask 077
awk '
  {
    line = $0
    done = ""
    while (match(line, /\$[A-Za-z_][A-Za-z0-9_]*/)) {
      name = substr(line, RSTART + 1, RLENGTH - 1)
      value = (name in ENVIRON) ? ENVIRON[name] : substr(line, RSTART, RLENGTH)
      done = done substr(line, 1, RSTART - 1) value
      line = substr(line, RSTART + RLENGTH)
    }
    line = done line
    if (line ~ /^[ \t]*- key:[ \t]*$/) next
    print line
  }
' "$template" > "$out"

exec /entrypoint.sh kong docker-start
