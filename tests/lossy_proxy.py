"""A TCP proxy in front of the API that loses answers: it passes requests on, and for its
first connections closes the line instead of passing the answer back (an answer lost on the
way, after the API did the work)."""

from __future__ import annotations

import contextlib
import socket
import threading


class LossyProxy:
    """Listens on 127.0.0.1; the first `losses` connections lose their first answer."""

    def __init__(self, upstream_port: int, losses: int = 1) -> None:
        self.upstream_port = upstream_port
        self.losses = losses
        self.lost = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        """Stop taking connections."""
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                downstream, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                lose = self.lost < self.losses
                self.lost += lose
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=_pipe, args=(downstream, upstream), daemon=True).start()
            back = _lose_answer if lose else _pipe
            threading.Thread(target=back, args=(upstream, downstream), daemon=True).start()


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        _hang_up(source, target)


def _lose_answer(upstream: socket.socket, downstream: socket.socket) -> None:
    """Wait for the answer's first bytes, then hang up on both sides."""
    with contextlib.suppress(OSError):
        upstream.recv(65536)
    _hang_up(upstream, downstream)


def _hang_up(*ends: socket.socket) -> None:
    """Shut down (which also wakes a thread blocked reading) and close."""
    for end in ends:
        with contextlib.suppress(OSError):
            end.shutdown(socket.SHUT_RDWR)
        end.close()
