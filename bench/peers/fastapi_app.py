"""FastAPI + boto3 peer of bench/http-peers.sh: `POST /api/v1/sign/avatar` and `GET /healthz`,
served by uvicorn (one process, uvloop and httptools). The route is `async def`: signing is
CPU work with no I/O, so it runs on the event loop rather than paying a thread hop per request
(FastAPI's `def` route would run it in a thread pool).
"""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from http_sign import Refused, sign

app = FastAPI()


@app.get("/healthz")
async def healthz():
    return {"status": "ok"}


@app.post("/api/v1/sign/avatar")
async def sign_avatar(request: Request):
    try:
        return sign(await request.json())
    except (Refused, ValueError) as e:
        return JSONResponse({"error": "bad_request", "message": str(e)}, status_code=400)
