-- wrk script for bench/gpa_rps.py: POSTs one fixed IPP request (the bytes of the file named by
-- $IPP_BODY_FILE) with Content-Type application/ipp, and checks every response: HTTP 200 and
-- IPP status successful-ok (bytes 3-4 of the body are 0x0000). Prints the counts at the end as
-- "ipp-ok N", "ipp-bad N", "ipp-bytes N" for the Python side to parse.

local path = os.getenv("IPP_BODY_FILE")
local file = assert(io.open(path, "rb"), "cannot open " .. tostring(path))
local body = file:read("*a")
file:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/ipp"

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   ok = 0
   bad = 0
   bytes = 0
end

function response(status, headers, body)
   if status == 200 and body:byte(3) == 0 and body:byte(4) == 0 then
      ok = ok + 1
   else
      bad = bad + 1
   end
   bytes = bytes + #body
end

function done(summary, latency, requests)
   local total_ok, total_bad, total_bytes = 0, 0, 0
   for _, thread in ipairs(threads) do
      total_ok = total_ok + thread:get("ok")
      total_bad = total_bad + thread:get("bad")
      total_bytes = total_bytes + thread:get("bytes")
   end
   io.write(string.format("ipp-ok %d\nipp-bad %d\nipp-bytes %d\n", total_ok, total_bad,
                          total_bytes))
end
