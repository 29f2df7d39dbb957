-- wrk script: POST /v1/claims with unique claim numbers and two lines each.
-- Usage: KEY=ovt_... wrk -t2 -c32 -d30s --latency -s bench/claims.lua http://127.0.0.1:8080
local key = os.getenv("KEY") or error("set KEY to an API key with the billing role")
local run = os.getenv("RUN") or tostring(os.time())
-- The claims' date of service: SERVICE_DATE (YYYY-MM-DD), else a week ago. A date more than a
-- year back makes every claim's status check and timely-filing watch due at once, so each
-- claim also fires two follow-ups (a backlog or resubmission load).
local service_date = os.getenv("SERVICE_DATE")
if service_date == nil or service_date == "" then
  service_date = os.date("!%Y-%m-%d", os.time() - 7 * 86400)
end
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  -- `id` is set per thread by setup()
  counter = 0
end

local template = [[{"claim_number":"B%s-%d-%d","payer":{"id":"60054","name":"ACME HEALTH PLAN"},]] ..
  [["patient":{"member_id":"MEM%d","first_name":"Jane","last_name":"Doe","date_of_birth":"1980-04-12"},]] ..
  [["provider":{"npi":"1234567893","name":"SMITH FAMILY CLINIC"},"service_date":"%s",]] ..
  [["diagnosis_codes":["E11.9","I10"],"lines":[{"procedure_code":"99213","modifiers":["25"],"units":1,"charge":"180.00"},]] ..
  [[{"procedure_code":"36415","charge":"20.00"}]}]]

-- FIELDS=1: each claim also carries what an 837P needs (submitter, receiver, addresses, tax id,
-- filing indicator, place of service, pointers), which Overturn builds into the claim's 837 loops.
if os.getenv("FIELDS") == "1" then
  template = template:sub(1, -2) ..
    [[,"submitter":{"name":"SMITH FAMILY CLINIC","id":"SUB123","phone":"8605551212"},]] ..
    [["receiver":{"name":"CLEARINGHOUSE","id":"CLEAR1"},"place_of_service":"11"}]]
  template = template:gsub([["provider":{"npi":"1234567893","name":"SMITH FAMILY CLINIC"}]],
    [["provider":{"npi":"1234567893","name":"SMITH FAMILY CLINIC","tax_id":"061234567",]] ..
    [["address":{"line1":"100 MAIN ST","city":"HARTFORD","state":"CT","postal_code":"06103"}}]])
  template = template:gsub([["payer":{"id":"60054","name":"ACME HEALTH PLAN"}]],
    [["payer":{"id":"60054","name":"ACME HEALTH PLAN","claim_filing_indicator":"CI"}]])
  template = template:gsub([["date_of_birth":"1980%-04%-12"}]],
    [["date_of_birth":"1980-04-12","gender":"F","address":{"line1":"12 ELM ST","city":"HARTFORD","state":"CT","postal_code":"06103"}}]])
end

local headers = {
  ["Content-Type"] = "application/json",
  ["Authorization"] = "Bearer " .. key,
}

function request()
  counter = counter + 1
  local body = string.format(template, run, id, counter, counter % 1000, service_date)
  return wrk.format("POST", "/v1/claims", headers, body)
end
