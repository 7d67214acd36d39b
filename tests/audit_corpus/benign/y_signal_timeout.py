# declares:
import contextlib
import signal


@contextlib.contextmanager
def deadline(seconds: int):
    def boom(signum, frame):
        raise TimeoutError

    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
