"""A mail server for the notice tests, on 127.0.0.1: it refuses the first REFUSE messages
containing MARKER (every message, without one) with a temporary error, as a busy server does,
and keeps each message it accepts as a file in OUT. Runs until its standard input closes.

    python catcher.py PORT OUT REFUSE [MARKER]
"""
import os
import sys

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, out, refuse, marker):
        self.out = out
        self.refuse = refuse
        self.marker = marker
        self.kept = 0

    async def handle_DATA(self, server, session, envelope):
        if self.refuse > 0 and self.marker in envelope.original_content:
            self.refuse -= 1
            return "451 4.3.0 Try again later (the test refuses this attempt)"
        self.kept += 1
        path = os.path.join(self.out, f"{self.kept:04d}.eml")
        with open(path + ".tmp", "wb") as f:
            f.write(b"X-Test-Rcpt: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(envelope.original_content)
        os.rename(path + ".tmp", path)
        return "250 OK"


def main():
    port, out, refuse = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    marker = sys.argv[4].encode() if len(sys.argv) > 4 else b""
    controller = Controller(Handler(out, refuse, marker), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
