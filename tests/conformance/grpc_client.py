"""A foreign gRPC client for the gRPC layers' tests: Python's grpcio calls
vitalsign.test.Echo (tests/src/echo.rs) at the address given, one case per line of output:
the case's name, the status code the client saw, and the messages it received.

Messages are encoded by hand (a few varint and string fields), so no protoc is needed."""

import sys

import grpc


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def echo_request(text="", count=0, fail_code=0, delay_ms=0):
    out = bytearray()
    if text:
        data = text.encode()
        out += b"\x0a" + varint(len(data)) + data
    for tag, value in ((2, count), (3, fail_code), (4, delay_ms)):
        if value:
            out += varint(tag << 3) + varint(value)
    return bytes(out)


def main():
    channel = grpc.insecure_channel(sys.argv[1])
    grpc.channel_ready_future(channel).result(timeout=10)

    def method(name, stream=False):
        path = "/vitalsign.test.Echo/" + name
        if stream:
            return channel.unary_stream(path)
        return channel.unary_unary(path)

    def report(case, code, received):
        print(f"{case} {code.name} {received}", flush=True)

    # Unary OK, and a unary error (a Trailers-Only response).
    for case, request in (("unary_ok", echo_request("hi")), ("unary_error", echo_request(fail_code=5))):
        try:
            method("Unary")(request, timeout=10)
            report(case, grpc.StatusCode.OK, 1)
        except grpc.RpcError as e:
            report(case, e.code(), 0)

    # A server stream that fails after three messages.
    received = 0
    try:
        for _ in method("ServerStream", True)(echo_request("s", count=3, fail_code=10), timeout=10):
            received += 1
        report("stream_error", grpc.StatusCode.OK, received)
    except grpc.RpcError as e:
        report("stream_error", e.code(), received)

    # A stream the client cancels after two of its hundred messages (200 ms apart).
    call = method("ServerStream", True)(echo_request("s", count=100, delay_ms=200), timeout=30)
    received = 0
    for _ in call:
        received += 1
        if received == 2:
            call.cancel()
            break
    report("stream_cancelled", call.code(), received)

    # A deadline that expires: the handler takes 600 ms, the client waits 100.
    try:
        method("Unary")(echo_request("slow", delay_ms=600), timeout=0.1)
        report("deadline", grpc.StatusCode.OK, 1)
    except grpc.RpcError as e:
        report("deadline", e.code(), 0)

    # A method the server does not have.
    try:
        method("Nope")(echo_request(), timeout=10)
        report("unknown_method", grpc.StatusCode.OK, 1)
    except grpc.RpcError as e:
        report("unknown_method", e.code(), 0)
    channel.close()


if __name__ == "__main__":
    main()
