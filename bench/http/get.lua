-- A plain GET of the URL given to wrk (GET /healthz, GET /upload/avatar).
dofile("bench/http/report.lua")
