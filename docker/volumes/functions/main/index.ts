// Main service of the edge runtime: routes /<name>/... to the function in
// /home/deno/functions/<name>/index.ts, each in its own user worker.
//
// When VERIFY_JWT is true, a request must carry `Authorization: Bearer <jwt>`, or the
// `sb-api-key` header Kong sets for an sb_ key (the ES256 JWT of its role):
//   * HS256 tokens are checked against JWT_SECRET (legacy mode, and the anon/service keys);
//   * ES256/RS256 tokens are checked by their kid against the public keys of SUPABASE_JWKS
//     (JWT_JWKS), else those auth serves at /.well-known/jwks.json.
// No third-party imports: Web Crypto only. SUPABASE_JWKS carries the HS256 secret in its
// oct key, so, like JWT_SECRET, it never reaches a user function.

declare const EdgeRuntime: {
  userWorkers: {
    create(options: Record<string, unknown>): Promise<{ fetch(req: Request): Promise<Response> }>
  }
}

const FUNCTIONS_DIR = '/home/deno/functions'
const VERIFY_JWT = Deno.env.get('VERIFY_JWT') === 'true'
const JWT_SECRET = Deno.env.get('JWT_SECRET') ?? ''
const JWKS_URL = 'http://auth:9999/.well-known/jwks.json'
const NAME = /^[A-Za-z0-9_-]+$/

// Variables a user function may see: everything but the signing secret and the set holding it.
const HIDDEN = new Set(['JWT_SECRET', 'SUPABASE_JWKS'])
const WORKER_ENV = Object.entries(Deno.env.toObject()).filter(([k]) => !HIDDEN.has(k))

// The public keys of JWT_JWKS (its oct key is the HS256 secret, used as JWT_SECRET above).
const LOCAL_KEYS: JsonWebKey[] = (() => {
  try {
    const set = JSON.parse(Deno.env.get('SUPABASE_JWKS') ?? '{"keys":[]}')
    return ((set.keys ?? []) as JsonWebKey[]).filter((k) => k.kty !== 'oct')
  } catch {
    return []
  }
})()

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  })
}

function b64urlBytes(s: string): Uint8Array {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(s.length / 4) * 4, '=')
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))
}

function b64urlJson(s: string): Record<string, unknown> {
  return JSON.parse(new TextDecoder().decode(b64urlBytes(s)))
}

let jwksCache: { at: number; keys: JsonWebKey[] } | null = null

async function publicKeys(): Promise<JsonWebKey[]> {
  if (jwksCache && Date.now() - jwksCache.at < 5 * 60 * 1000) return jwksCache.keys
  const res = await fetch(JWKS_URL)
  if (!res.ok) throw new Error(`jwks: HTTP ${res.status}`)
  const keys = ((await res.json()).keys ?? []) as JsonWebKey[]
  jwksCache = { at: Date.now(), keys }
  return keys
}

async function verifyJwt(token: string): Promise<boolean> {
  const parts = token.split('.')
  if (parts.length !== 3) return false
  const [h, p, s] = parts
  const header = b64urlJson(h)
  const payload = b64urlJson(p)
  const data = new TextEncoder().encode(`${h}.${p}`)
  const sig = b64urlBytes(s)

  let ok = false
  if (header.alg === 'HS256') {
    if (!JWT_SECRET) return false
    const key = await crypto.subtle.importKey(
      'raw', new TextEncoder().encode(JWT_SECRET), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'],
    )
    ok = await crypto.subtle.verify('HMAC', key, sig, data)
  } else if (header.alg === 'ES256' || header.alg === 'RS256') {
    const matches = (k: JsonWebKey) =>
      (k as { kid?: string }).kid === header.kid && (!k.alg || k.alg === header.alg)
    const jwk = LOCAL_KEYS.find(matches) ?? (await publicKeys()).find(matches)
    if (!jwk) return false
    const algo = header.alg === 'ES256'
      ? { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
      : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
    const { key_ops: _ops, ...pub } = jwk
    const key = await crypto.subtle.importKey('jwk', pub, algo, false, ['verify'])
    ok = await crypto.subtle.verify(algo, key, sig, data)
  }
  if (!ok) return false
  const exp = payload.exp
  return typeof exp !== 'number' || exp > Date.now() / 1000
}

Deno.serve(async (req: Request) => {
  if (req.method !== 'OPTIONS' && VERIFY_JWT) {
    const auth = req.headers.get('Authorization') ?? ''
    const token = auth.startsWith('Bearer ') && !auth.startsWith('Bearer sb_')
      ? auth.slice(7)
      : (req.headers.get('sb-api-key') ?? '')
    let valid = false
    try {
      valid = token !== '' && (await verifyJwt(token))
    } catch (e) {
      console.error('jwt verification failed:', e)
    }
    if (!valid) return json(401, { msg: 'Invalid JWT' })
  }

  const name = new URL(req.url).pathname.split('/')[1] ?? ''
  if (!NAME.test(name) || name === 'main') {
    return json(400, { msg: 'missing or invalid function name' })
  }

  try {
    const worker = await EdgeRuntime.userWorkers.create({
      servicePath: `${FUNCTIONS_DIR}/${name}`,
      memoryLimitMb: 150,
      workerTimeoutMs: 60 * 1000,
      noModuleCache: false,
      importMapPath: null,
      envVars: WORKER_ENV,
    })
    return await worker.fetch(req)
  } catch (e) {
    console.error(`function ${name}:`, e)
    return json(500, { msg: String(e) })
  }
})
