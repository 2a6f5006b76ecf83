"""An SMTP sink for Tessera's end-to-end tests (tests/e2e/harness/smtp.rs).

Usage: smtp_sink.py OUTPUT_DIR PORT

Listens on 127.0.0.1:PORT with aiosmtpd (plain SMTP, no TLS, no authentication) and writes every
message it accepts into OUTPUT_DIR as two files, numbered from 1 on (continuing after the files
already there, so a restarted sink never overwrites what an earlier run received):

- <n>.eml: the message exactly as received;
- <n>.json: {"mail_from", "rcpt_tos", "from", "to", "subject", "text", "html", "message_id"}, the
  envelope and the headers and bodies already decoded, with LF line ends (text and html are null when
  absent).

Each file is written under a temporary name and renamed, so a reader never sees half a file.
Prints "ready <port>" on stdout once it listens; stops on SIGTERM or SIGINT.
"""

import asyncio
import email
import json
import os
import signal
import sys
from email import policy

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        numbers = [
            int(name.split(".")[0])
            for name in os.listdir(out_dir)
            if name.endswith(".json") and name.split(".")[0].isdigit()
        ]
        self.count = max(numbers, default=0)

    def write(self, name, data):
        tmp = os.path.join(self.out_dir, f".{name}.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(self.out_dir, name))

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        msg = email.message_from_bytes(raw, policy=policy.default)
        plain = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))

        def content(part):
            # Line ends as text, not as the wire's CRLF.
            return part.get_content().replace("\r\n", "\n") if part is not None else None

        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "from": str(msg["From"]) if msg["From"] is not None else None,
            "to": str(msg["To"]) if msg["To"] is not None else None,
            "subject": str(msg["Subject"]) if msg["Subject"] is not None else None,
            "text": content(plain),
            "html": content(html),
            "message_id": str(msg["Message-ID"]) if msg["Message-ID"] is not None else None,
        }
        self.count += 1
        self.write(f"{self.count}.eml", raw)
        self.write(f"{self.count}.json", json.dumps(record).encode("utf-8"))
        return "250 Message accepted for delivery"


async def main(out_dir, port):
    os.makedirs(out_dir, exist_ok=True)
    sink = Sink(out_dir)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(sink, hostname="sink.test", ident="Tessera test sink"),
        host="127.0.0.1",
        port=port,
        reuse_address=True,
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"ready {port}", flush=True)
    await stop.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: smtp_sink.py OUTPUT_DIR PORT")
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
