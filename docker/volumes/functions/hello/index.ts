// Example function: GET /functions/v1/hello?name=Receptor
Deno.serve((req: Request) => {
  const name = new URL(req.url).searchParams.get('name') ?? 'world'
  return new Response(JSON.stringify({ message: `Hello, ${name}!` }), {
    headers: { 'Content-Type': 'application/json' },
  })
})
