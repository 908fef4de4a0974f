-- wrk script for scripts/bench-login: POSTs the sign-in form on every request.
--
-- The form body and the CSRF cookie come from the environment, set by bench-login:
--   BENCH_LOGIN_BODY  email=...&password=...&csrf_token=... (form-urlencoded)
--   BENCH_COOKIE      portal_csrf=...
-- A successful sign-in answers 303 (to the dashboard); anything else is counted and
-- reported, so a run that only measured rejections cannot pass for a good one.

wrk.method = "POST"
wrk.body = os.getenv("BENCH_LOGIN_BODY") or ""
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE") or ""

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   signed_in = 0
   unexpected = 0
end

function response(status, headers, body)
   if status == 303 then
      signed_in = signed_in + 1
   else
      unexpected = unexpected + 1
   end
end

function done(summary, latency, requests)
   local ok, bad = 0, 0
   for _, thread in ipairs(threads) do
      ok = ok + thread:get("signed_in")
      bad = bad + thread:get("unexpected")
   end
   io.write(string.format("Signed in (303): %d\n", ok))
   io.write(string.format("Unexpected status: %d\n", bad))
end
