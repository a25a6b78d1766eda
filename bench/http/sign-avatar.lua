-- POST /api/v1/sign/avatar with a JSON body, as the upload page sends it.
wrk.method = "POST"
wrk.body = '{"filename":"me.png","content_type":"image/png","size":12345}'
wrk.headers["Content-Type"] = "application/json"
dofile("bench/http/report.lua")
