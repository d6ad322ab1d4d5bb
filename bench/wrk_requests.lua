-- wrk script: cycle through requests listed in the file named by $REQUESTS, one per line:
--   GET <path>            or            POST <path> <json body>
-- with the Authorization header in $AUTHORIZATION (an API token: every data route needs sign-in),
-- and print a JSON summary (median, p95, throughput, non-2xx answers) when done.
local lines = {}
for line in io.lines(os.getenv("REQUESTS")) do
  local method, path, body = line:match("^(%S+)%s+(%S+)%s*(.*)$")
  lines[#lines + 1] = {method, path, body}
end
local requests = {}
local counter = 0
init = function(args)
  -- wrk.format needs the Host header, known only once the thread starts.
  local auth = os.getenv("AUTHORIZATION")
  for i, r in ipairs(lines) do
    if r[1] == "POST" then
      requests[i] = wrk.format("POST", r[2], {["Content-Type"] = "application/json", ["Authorization"] = auth}, r[3])
    else
      requests[i] = wrk.format("GET", r[2], {["Authorization"] = auth})
    end
  end
end
request = function()
  counter = counter + 1
  return requests[(counter % #requests) + 1]
end
done = function(summary, latency, requests_)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "errors": %d, "median_ms": %.3f, "p95_ms": %.3f, "max_ms": %.3f, "throughput_rps": %.1f}\n',
    summary.requests, e.status + e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency.max / 1000,
    summary.requests / (summary.duration / 1e6)))
end
