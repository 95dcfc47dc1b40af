"""FastAPI + pydantic benchmark server: the workload as a FastAPI user writes it."""

import argparse
import json
import os

import pydantic
import uvicorn
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ValidationError, constr

PYDANTIC_V1 = pydantic.VERSION.startswith("1.")


class ChatRequest(BaseModel):
    message: constr(min_length=1, max_length=500)
    user: constr(min_length=1, max_length=32)


if PYDANTIC_V1:
    parse_request = ChatRequest.parse_raw
else:
    parse_request = ChatRequest.model_validate_json

# pydantic 1 names and words its errors differently from pydantic 2; the
# wire format uses pydantic 2's.
V1_ERRORS = {
    "value_error.missing": ("missing", "Field required"),
    "value_error.any_str.max_length": ("string_too_long", None),
    "value_error.any_str.min_length": ("string_too_short", None),
    "type_error.str": ("string_type", "Input should be a valid string"),
    "value_error.jsondecode": ("json_invalid", "Invalid JSON"),
}


def error_list(exc: ValidationError) -> list:
    items = []
    for err in exc.errors():
        kind, msg = err["type"], err["msg"]
        if PYDANTIC_V1:
            kind, new_msg = V1_ERRORS.get(kind, (kind, None))
            msg = new_msg or msg[:1].upper() + msg[1:]
        loc = [str(part) for part in err["loc"] if part != "__root__"]
        items.append({"loc": loc, "type": kind, "msg": msg})
    return items


def dumps(obj) -> str:
    return json.dumps(obj, separators=(",", ":"))


app = FastAPI()


@app.websocket("/ws")
async def chat(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            try:
                req = parse_request(text)
            except ValidationError as exc:
                reply = {"statusCode": 400, "body": {"errorList": error_list(exc)}}
            else:
                reply = {"statusCode": 200, "body": {"message": req.message, "user": req.user}}
            await websocket.send_text(dumps(reply))
    except WebSocketDisconnect:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False, lifespan="off")


if __name__ == "__main__":
    main()
