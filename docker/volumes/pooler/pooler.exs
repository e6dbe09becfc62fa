# Evaluated by the supavisor service before the server starts (see its `command`):
# registers the single tenant of this stack if it does not exist yet. All values come
# from the container environment; the pgbouncer password is POSTGRES_PASSWORD.
{:ok, _} = Application.ensure_all_started(:supavisor)

env = fn name -> System.fetch_env!(name) end

server_version =
  case Supavisor.Repo.query!("SELECT version()") do
    %{rows: [[full]]} -> full
    _ -> nil
  end

tenant = %{
  "external_id" => env.("POOLER_TENANT_ID"),
  "db_host" => env.("POSTGRES_HOST"),
  "db_port" => env.("POSTGRES_PORT"),
  "db_database" => env.("POSTGRES_DB"),
  "require_user" => false,
  "auth_query" => "SELECT * FROM pgbouncer.get_auth($1)",
  "default_max_clients" => env.("POOLER_MAX_CLIENT_CONN"),
  "default_pool_size" => env.("POOLER_DEFAULT_POOL_SIZE"),
  "default_parameter_status" => %{"server_version" => server_version},
  "users" => [
    %{
      "db_user" => "pgbouncer",
      "db_password" => env.("POSTGRES_PASSWORD"),
      "mode_type" => env.("POOLER_POOL_MODE"),
      "pool_size" => env.("POOLER_DEFAULT_POOL_SIZE"),
      "is_manager" => true
    }
  ]
}

if Supavisor.Tenants.get_tenant_by_external_id(tenant["external_id"]) == nil do
  {:ok, _} = Supavisor.Tenants.create_tenant(tenant)
end
