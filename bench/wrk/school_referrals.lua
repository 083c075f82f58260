-- wrk script: POST /v1/referrals/school, every request a new referral.
--
-- Each request carries a unique Idempotency-Key and a unique body: its own external_reference and a valid
-- Unique Pupil Number (check letter computed as python-stdnum's gb.upn does), so the service stores a new
-- referral each time instead of replaying or refusing a duplicate. wrk gives each thread its own Lua state:
-- `setup` numbers the threads and `init` reads the thread's number and the run's tag.
--
-- Environment: WRK_TOKEN (bearer token, required), WRK_RUN (tag making keys unique across runs, required),
-- WRK_PATH (default /v1/referrals/school).
-- At the end `done` prints one line `WRKJSON {...}` with the counts and latency percentiles (microseconds).

local ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ0123456789"
local threads = {}
local counter = 0
local tid = 0
local run = ""
local token = ""
local path = "/v1/referrals/school"
local recorded_at = ""

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  tid = tonumber(wrk.thread:get("tid")) or 1
  run = os.getenv("WRK_RUN") or error("WRK_RUN is required")
  token = os.getenv("WRK_TOKEN") or error("WRK_TOKEN is required")
  path = os.getenv("WRK_PATH") or path
  recorded_at = os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() - 3600)
end

-- python-stdnum gb.upn: the check letter of twelve characters is ALPHABET[sum(i * index(c) for i from 2) % 23];
-- the first three digits are a local authority's number (checked by the service): 801, then nine of serial.
local function upn(serial)
  local digits = string.format("801%09d", serial)
  local sum = 0
  for i = 1, 12 do
    local c = digits:sub(i, i)
    sum = sum + (i + 1) * (ALPHABET:find(c, 1, true) - 1)
  end
  local check = sum % 23
  return ALPHABET:sub(check + 1, check + 1) .. digits
end

local function body(reference, pupil_upn)
  return '{"external_reference":"' .. reference .. '",'
    .. '"referrer":{"name":"Mr Daniel Okafor","role":"designated safeguarding lead"},'
    .. '"needs":["education"],'
    .. '"reason":"Attendance has fallen below 80% this term.",'
    .. '"consent":{"given":true,"given_by":"Jo Smith","recorded_at":"' .. recorded_at .. '","method":"verbal"},'
    .. '"lawful_basis":"consent","school_urn":"107950",'
    .. '"pupil":{"given_name":"Kai","family_name":"Smith","date_of_birth":"2014-03-02","postcode":"LS10 1AB",'
    .. '"upn":"' .. pupil_upn .. '","year_group":6},'
    .. '"parents":[{"given_name":"Jo","family_name":"Smith","date_of_birth":"1985-07-01"}],'
    .. '"attendance":{"current_term_percent":78.5,"last_three_terms_percent":[88.0,91.2,85.0],'
    .. '"unauthorised_absence_sessions":14},'
    .. '"suspensions_this_year":1,"permanently_excluded":false,"sen_status":"sen_support","transition":true}'
end

function request()
  counter = counter + 1
  -- serials: 6 digits of counter per thread, the thread and the run's tag above them (unique in a run)
  local serial = (tonumber(run) % 100) * 10000000 + tid * 1000000 + counter
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["Idempotency-Key"] = "wrk-" .. run .. "-" .. tid .. "-" .. counter,
  }
  return wrk.format("POST", path, headers, body("WRK-" .. run .. "-" .. tid .. "-" .. counter, upn(serial)))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,'
      .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
