-- wrk script: GET /v1/claims (one page of LIMIT claims, default 50, newest first).
-- Usage: KEY=ovt_... wrk -t2 -c32 -d30s --latency -s bench/claims_read.lua http://127.0.0.1:8080
local key = os.getenv("KEY") or error("set KEY to an API key with the billing role")
local limit = os.getenv("LIMIT") or "50"
local headers = { ["Authorization"] = "Bearer " .. key }

function request()
  return wrk.format("GET", "/v1/claims?limit=" .. limit, headers)
end
