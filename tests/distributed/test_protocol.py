"""Framing, serialisation, the handshake, fuzzing and authentication at a live scheduler."""
from __future__ import annotations

import pickle
import random
import socket
import struct

import msgpack
import numpy as np
import pytest

from shoal.distributed import Client, LocalCluster, Security
from shoal.distributed.comm.tcp import parse_address
from shoal.distributed.protocol import auth
from shoal.distributed.protocol.frames import PREFIX, ProtocolError, pack_frames, unpack_frames
from shoal.distributed.protocol.serialize import (
    Serialized, deserialize, dumps_messages, loads_messages, serialize,
)


def _join(bufs):
    return b"".join(bytes(b) for b in bufs)


def test_frames_round_trip_and_reject_malformed():
    frames = [b"head", b"body", memoryview(b"x" * 10000)]
    wire = _join(pack_frames(frames))
    (n,) = PREFIX.unpack_from(wire)
    assert n == len(wire) - 8
    out = unpack_frames(memoryview(wire)[8:])
    assert [bytes(f) for f in out] == [b"head", b"body", b"x" * 10000]
    with pytest.raises(ProtocolError):
        unpack_frames(memoryview(b"\x00\x00"))
    with pytest.raises(ProtocolError):
        unpack_frames(memoryview(struct.pack("!I", 10**9) + b"\x00" * 16))
    bad = bytearray(wire[8:])
    bad[4 + 8 * 3 - 1] ^= 0xFF  # corrupt a length
    with pytest.raises(ProtocolError):
        unpack_frames(memoryview(bad))


def test_header_version_checked_before_pickle():
    frames = dumps_messages([{"op": "x"}])
    frames[0] = msgpack.packb({"v": 999, "nb": 0})
    with pytest.raises(ProtocolError, match="protocol version"):
        loads_messages([memoryview(f) for f in frames])


def test_numpy_buffers_travel_out_of_band_without_copies():
    a = np.arange(1_000_000, dtype="f8")
    s = serialize(a)
    assert isinstance(s, Serialized)
    assert len(s.data) < 1000  # the pickle holds no array data
    assert np.shares_memory(np.frombuffer(s.buffers[0], dtype="f8"), a)
    frames = dumps_messages([{"op": "v", "value": s}])
    assert any(memoryview(f).nbytes == a.nbytes for f in frames[2:])
    # receiving side: frames are slices of one writable buffer; the array is a view
    wire = bytearray(_join(pack_frames(frames)))
    got = loads_messages(unpack_frames(memoryview(wire)[8:]))[0]["value"]
    b = deserialize(got)
    np.testing.assert_array_equal(a, b)
    assert b.flags.writeable
    assert np.shares_memory(b, np.frombuffer(wire, dtype="u1"))


def test_handshake_messages_validated():
    nonce = auth.new_nonce()
    ok = auth.encode({"op": "hello", "v": 1, "nonce": nonce})
    assert auth.decode(ok, "hello")["nonce"] == nonce
    for bad in [b"\x93\x01", auth.encode({"op": "hello", "v": 2, "nonce": nonce}),
                auth.encode({"op": "hello", "v": 1, "nonce": b"short"}), b"x" * 5000,
                pickle.dumps({"op": "hello"})]:
        with pytest.raises(ProtocolError):
            auth.decode(bad, "hello")


def test_parse_address():
    assert parse_address("tcp://h:1") == ("tcp", "h", 1)
    assert parse_address("h:2") == ("tcp", "h", 2)
    assert parse_address("tls://h") == ("tls", "h", 8786)
    with pytest.raises(ValueError, match="tcp:// or tls://"):
        parse_address("udp://h:1")


class Evil:
    """Unpickling this creates a file: proof that a pickle was loaded."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture(scope="module")
def small_cluster():
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as c:
        yield c


def _raw(address, timeout=5.0):
    _, host, port = parse_address(address)
    s = socket.create_connection((host, port), timeout=timeout)
    return s


def _recv_msg(s):
    head = b""
    while len(head) < 8:
        chunk = s.recv(8 - len(head))
        if not chunk:
            return None
        head += chunk
    (n,) = PREFIX.unpack(head)
    body = b""
    while len(body) < n:
        chunk = s.recv(n - len(body))
        if not chunk:
            return None
        body += chunk
    return body


def _closed(s, timeout=5.0):
    s.settimeout(timeout)
    try:
        while True:
            if not s.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def test_unauthenticated_pickles_are_never_loaded(small_cluster, tmp_path):
    addr = small_cluster.scheduler_address
    proof = tmp_path / "unpickled"
    evil_frames = dumps_messages([{"op": "update-graph", "x": Evil(str(proof))}])
    evil = _join(pack_frames(evil_frames))
    # 1. pickles sent straight away, no handshake
    s = _raw(addr)
    s.sendall(evil)
    assert _closed(s)
    # 2. a wrong token, then pickles
    s = _raw(addr)
    hello = auth.decode(_recv_msg(s), "hello")
    c_nonce = auth.new_nonce()
    msg = auth.encode({"op": "auth", "v": 1, "nonce": c_nonce,
                       "mac": auth.mac("wrong-token", b"client", hello["nonce"], c_nonce)})
    s.sendall(PREFIX.pack(len(msg)) + msg + evil)
    reply = _recv_msg(s)
    assert reply is None or msgpack.unpackb(reply)["op"] == "denied"
    assert _closed(s)
    # 3. the Client API with a wrong token fails clearly
    with pytest.raises(PermissionError):
        Client(addr, security=Security(token="wrong"), set_as_default=False, timeout=10)
    assert not proof.exists()
    # the scheduler still serves a client that knows the token
    with Client(small_cluster, set_as_default=False) as c:
        assert c.submit(lambda x: x + 1, 1).result(timeout=30) == 2
    assert not proof.exists()


def test_fuzzed_frames_close_only_that_connection(small_cluster):
    addr = small_cluster.scheduler_address
    rng = random.Random(1234)
    token = small_cluster.security.token
    good = _join(pack_frames(dumps_messages([{"op": "who-has", "keys": ["a"], "rid": 1}])))
    for i in range(60):
        s = _raw(addr)
        try:
            kind = i % 4
            if kind == 0:    # random garbage before authenticating
                s.sendall(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 3000))))
            elif kind == 1:  # an absurd length prefix
                s.sendall(PREFIX.pack(rng.choice([2**40, 2**63, 5000])) + b"\x00" * 100)
            else:            # authenticate properly, then send mutated or random frames
                hello = auth.decode(_recv_msg(s), "hello")
                cn = auth.new_nonce()
                m = auth.encode({"op": "auth", "v": 1, "nonce": cn,
                                 "mac": auth.mac(token, b"client", hello["nonce"], cn)})
                s.sendall(PREFIX.pack(len(m)) + m)
                assert msgpack.unpackb(_recv_msg(s))["op"] == "welcome"
                data = bytearray(good)
                for _ in range(rng.randint(1, 8)):
                    data[rng.randrange(8, len(data))] = rng.getrandbits(8)
                if kind == 3:
                    data = PREFIX.pack(40) + bytes(rng.getrandbits(8) for _ in range(40))
                s.sendall(bytes(data))
            s.settimeout(2.0)
            try:
                s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                pass
        finally:
            s.close()
    with Client(small_cluster, set_as_default=False) as c:
        assert c.gather(c.map(lambda x: x * 2, range(20))) == [x * 2 for x in range(20)]


def test_tls_with_temporary_certificates():
    sec = Security.temporary()
    assert sec.has_tls and sec.token
    with LocalCluster(n_workers=1, threads_per_worker=1, security=sec, dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tls://")
        with Client(cluster, set_as_default=False) as c:
            x = np.arange(100_000.0)
            assert c.submit(np.sum, x).result(timeout=60) == x.sum()
        # plain TCP to a TLS scheduler is refused
        with pytest.raises(Exception):
            Client(cluster.scheduler_address.replace("tls://", "tcp://"), security=Security(token=sec.token),
                   set_as_default=False, timeout=3)


def test_large_frames_keep_message_order_and_arrive_whole_before_close():
    """A big array is written in slices behind which later messages wait;
    closing right after sending still delivers everything, in order."""
    import asyncio

    from shoal.distributed.comm.tcp import connect, listen

    sec = Security().with_token("t" * 32)
    big = np.arange(3_000_000, dtype="f8")  # 24 MB: many slices

    async def main():
        got: list = []
        done = asyncio.get_running_loop().create_future()

        def on_comm(comm):
            def on_msgs(c, msgs):
                got.extend(msgs)
                if got and got[-1].get("last") and not done.done():
                    done.set_result(None)
            comm.start(on_msgs)

        lst = await listen("tcp://127.0.0.1:0", on_comm, sec)
        comm = await connect(lst.address, sec)
        comm.start(lambda c, m: None)
        comm.send({"op": "first"})
        await asyncio.sleep(0)
        comm.send({"op": "big", "x": big})
        await asyncio.sleep(0)
        for i in range(50):
            comm.send({"op": "small", "i": i})
            await asyncio.sleep(0)
        comm.send({"op": "end", "last": True})
        comm.close()
        await asyncio.wait_for(done, 30)
        lst.close()
        return got

    got = asyncio.run(main())
    assert [m["op"] for m in got] == ["first", "big"] + ["small"] * 50 + ["end"]
    assert [m["i"] for m in got if m["op"] == "small"] == list(range(50))
    np.testing.assert_array_equal(got[1]["x"], big)


def test_small_buffers_do_not_keep_a_large_payload_alive():
    from shoal.distributed.protocol.serialize import dumps_messages, loads_messages

    msgs = [{"small": np.arange(1000.0), "big": np.ones(10_000_000)}]
    payload = bytearray(_join(pack_frames(dumps_messages(msgs))))
    (out,) = loads_messages(unpack_frames(memoryview(payload)[8:]))
    small, big = out["small"], out["big"]
    np.testing.assert_array_equal(small, np.arange(1000.0))
    assert big.sum() == 10_000_000
    start = np.frombuffer(payload, dtype=np.uint8).ctypes.data
    inside = lambda a: start <= a.ctypes.data < start + len(payload)  # noqa: E731
    assert inside(big)          # the big one: a view of the payload, no copy
    assert not inside(small)    # the small one: its own copy
    small[0] = 5.0                        # and writable


def test_frame_size_limit_is_read_from_its_config_key():
    import shoal
    from shoal.distributed.comm.tcp import max_payload

    with shoal.config.set({"distributed.comm.max-frame-bytes": 12345}):
        assert max_payload() == 12345
