-- Shared by the wrk scripts of bench/http-load.sh: one machine-readable summary line.
-- errors.status is wrk's count of HTTP answers >= 400; the socket errors are the others.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d connect=%d read=%d write=%d timeout=%d status=%d p50_us=%d p99_us=%d mean_us=%.0f max_us=%d\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
