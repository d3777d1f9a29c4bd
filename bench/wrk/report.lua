-- wrk script: optional method/body/content type from the environment, and a one-line JSON
-- summary (requests, errors, latency percentiles in µs) that bench/load.py parses.
local method = os.getenv("BENCH_WRK_METHOD")
local body_file = os.getenv("BENCH_WRK_BODY_FILE")

if method then wrk.method = method end
if body_file then
  local f = assert(io.open(body_file, "rb"))
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/json"
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean))
end
