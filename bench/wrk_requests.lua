-- wrk script: cycle through requests listed in the file named by $REQUESTS, one per line:
--   GET <path>            or            POST <path> <json body>
-- and print a JSON summary (median, p95, throughput) when done.
local requests = {}
for line in io.lines(os.getenv("REQUESTS")) do
  local method, path, body = line:match("^(%S+)%s+(%S+)%s*(.*)$")
  if method == "POST" then
    requests[#requests + 1] = wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)
  else
    requests[#requests + 1] = wrk.format("GET", path)
  end
end
local counter = 0
request = function()
  counter = counter + 1
  return requests[(counter % #requests) + 1]
end
done = function(summary, latency, requests_)
  io.write(string.format(
    '{"requests": %d, "errors": %d, "median_ms": %.3f, "p95_ms": %.3f, "max_ms": %.3f, "throughput_rps": %.1f}\n',
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency.max / 1000,
    summary.requests / (summary.duration / 1e6)))
end
