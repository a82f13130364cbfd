-- tools/bench/wrk-write.lua: the cross-check of bench-load with wrk
-- (docs/BENCHMARKS.md, part 1): every request a fresh key, as bench-load's.
--   wrk -t2 -c64 -d10s -s tools/bench/wrk-write.lua URL -- dsm|etcd PREFIX
-- dsm: POST /v1/machines/PREFIX-T-N {"to":"Running"}; etcd: POST /v3/kv/put
-- with the base64 key.  done() prints one JSON line: ok answers (200) summed
-- over the threads, their rate, and wrk's latency percentiles (all answers).
local threads = {}
local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local k = {}
    for j = 3, 0, -1 do
      local v = math.floor(n / 64 ^ j) % 64
      k[#k + 1] = b64chars:sub(v + 1, v + 1)
    end
    if not b then k[3] = "=" end
    if not c then k[4] = "=" end
    out[#out + 1] = table.concat(k)
  end
  return table.concat(out)
end

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  system = args[1] or "dsm"
  prefix = args[2] or "wrk"
  counter = 0
  ok = 0
  bad = 0
end

function request()
  counter = counter + 1
  local key = prefix .. "-" .. tid .. "-" .. counter
  local headers = { ["Content-Type"] = "application/json" }
  if system == "dsm" then
    -- dsm's API asks for a bearer token: $DSM_TOKEN (tools/bench/lib.sh sets it).
    local token = os.getenv("DSM_TOKEN")
    if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
    return wrk.format("POST", "/v1/machines/" .. key, headers, '{"to":"Running"}')
  end
  return wrk.format("POST", "/v3/kv/put", headers,
                    '{"key":"' .. base64(key) .. '","value":"UnVubmluZw=="}')
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 else bad = bad + 1 end
end

function done(summary, latency, requests)
  local total_ok, total_bad = 0, 0
  for _, t in ipairs(threads) do
    total_ok = total_ok + t:get("ok")
    total_bad = total_bad + t:get("bad")
  end
  io.write(string.format('{"ok":%d,"bad":%d,"rate":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f}\n',
                         total_ok, total_bad, total_ok / (summary.duration / 1e6),
                         latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
