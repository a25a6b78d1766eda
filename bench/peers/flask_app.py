"""Flask + boto3 peer of bench/http-peers.sh: `POST /api/v1/sign/avatar` and `GET /healthz`,
served by gunicorn (one worker process; see bench/http-peers.sh for its worker class).
"""

from flask import Flask, jsonify, request

from http_sign import Refused, sign

app = Flask(__name__)


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


@app.post("/api/v1/sign/avatar")
def sign_avatar():
    try:
        return jsonify(sign(request.get_json(force=True)))
    except (Refused, ValueError) as e:
        return jsonify({"error": "bad_request", "message": str(e)}), 400
