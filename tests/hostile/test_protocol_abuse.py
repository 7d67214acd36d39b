"""Attack family: writing to the host channel directly — garbage, giant and forged frames."""

from __future__ import annotations

import pytest
from sandbox_kit import RunnerFactory, process_alive

from wiseflow import ProtocolViolation, WorkerCrashed

pytestmark = pytest.mark.usefixtures("host_survives")

ATTACKER = """
import struct
import msgspec

FD = int(sys.argv[1])

def frame(obj):
    body = msgspec.msgpack.encode(obj)
    return struct.pack(">I", len(body)) + body

class P(ProcessorPlugin):
    def process(self, batch):
        return batch

    def garbage(self):
        body = b"\\xc1" + os.urandom(63)  # 0xc1 is never valid msgpack
        os.write(FD, struct.pack(">I", len(body)) + body)
        return "sent"

    def giant(self):
        os.write(FD, struct.pack(">I", 0xFFFFFFF0))
        return "sent"

    def truncated_body(self):
        os.write(FD, struct.pack(">I", 10) + b"\\x93\\xa6result")
        return "sent"

    def pickle_bomb(self):
        import pickle
        body = pickle.dumps(("os.system", "echo pwned"))
        os.write(FD, struct.pack(">I", len(body)) + body)
        return "sent"

    def forged_ready(self):
        os.write(FD, frame(["ready", 1, {"applied": [], "missing": {}}]))
        return "sent"

    def forged_result(self):
        os.write(FD, frame(["result", 424242, None, None]))
        return "sent"

    def bad_record(self):
        ext = msgspec.msgpack.Ext(1, b"\\x81\\xa2id\\x05")
        os.write(FD, frame(["result", 0, ext, None]))
        return "sent"

    def forged_capability(self):
        os.write(FD, frame(["cap", 99, "secret", [{"not": "a name"}]]))
        time.sleep(5)
        return "sent"

    def unknown_capability(self):
        os.write(FD, frame(["cap", 98, "exec", ["/bin/sh"]]))
        time.sleep(5)
        return "sent"

    def deep(self):
        body = b"\\x91" * 100000 + b"\\xc0"
        os.write(FD, struct.pack(">I", len(body)) + body)
        return "sent"

    def deep_payload(self):
        # a record whose data nests maps 3,000 deep: the host's decoder gives up (recursion)
        from wiseflow._sandbox._protocol import Chunk
        marker = msgspec.msgpack.encode({"a": "MARK"})
        chunk = Chunk(id=0, records=[Record(id="deep", source="s", data={"a": "MARK"})])
        body = msgspec.msgpack.encode(chunk).replace(marker, b"\\x81\\xa1a" * 3000 + b"\\x80")
        os.write(FD, struct.pack(">I", len(body)) + body)
        return "sent"

    def close_channel(self):
        os.close(FD)
        return "closed"
"""


@pytest.mark.parametrize(
    "attack",
    [
        "garbage",
        "giant",
        "pickle_bomb",
        "forged_ready",
        "forged_result",
        "forged_capability",
        "bad_record",
        "deep",
        "deep_payload",
    ],
)
def test_bad_frames_end_the_worker_with_wf406(sandbox: RunnerFactory, attack: str) -> None:
    """Garbage, an oversized length, pickle, forged or out-of-turn frames: WF406, worker gone."""
    r = sandbox(ATTACKER)
    pid = r.pid()
    assert pid is not None
    with pytest.raises(ProtocolViolation) as info:
        r.call(attack, [], 10)
    assert info.value.code == "WF406"
    assert info.value.plugin == "victim"
    assert not process_alive(pid)


def test_truncated_frame_then_silence_is_a_timeout_not_a_hang(sandbox: RunnerFactory) -> None:
    """A frame that announces more bytes than it sends does not hang the host."""
    r = sandbox(ATTACKER)
    with pytest.raises((ProtocolViolation, WorkerCrashed)) as info:
        r.call("truncated_body", [], 2)
    assert info.value.code in ("WF406", "WF402")


def test_closing_the_channel_is_a_crash(sandbox: RunnerFactory) -> None:
    """A plugin that closes the channel is reported as a crashed worker (WF402)."""
    r = sandbox(ATTACKER)
    with pytest.raises(WorkerCrashed):
        r.call("close_channel", [], 10)


def test_unknown_capability_ends_the_worker(sandbox: RunnerFactory) -> None:
    """A request for a capability that does not exist is a protocol violation (WF406)."""
    r = sandbox(ATTACKER)
    with pytest.raises(ProtocolViolation) as info:
        r.call("unknown_capability", [], 10)
    assert "exec" in info.value.message
