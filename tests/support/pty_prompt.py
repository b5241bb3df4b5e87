"""Runs a command on a new pseudo-terminal, answers its password prompts,
and reports whether the terminal's echo was off when each answer was typed.

usage: pty_prompt.py ANSWER PROMPT [PROMPT...] -- COMMAND [ARGS...]
Prints one JSON line: {"echo_off": [bool...], "output": str, "status": int}.
"""

import json
import os
import pty
import select
import sys
import termios
import time

DEADLINE = 20.0


def read_until(fd, needle, buf):
    end = time.monotonic() + DEADLINE
    while needle not in buf:
        left = end - time.monotonic()
        if left <= 0:
            return buf, False
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return buf, False
        if not chunk:
            return buf, False
        buf += chunk
    return buf, True


def wait_echo_off(fd):
    # On Linux the master side reports the terminal's settings, so this is
    # the state the prompt put the terminal in, not a guess by timing.
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        if not termios.tcgetattr(fd)[3] & termios.ECHO:
            return True
        time.sleep(0.01)
    return False


def main():
    sep = sys.argv.index("--")
    answer, prompts, command = sys.argv[1], sys.argv[2:sep], sys.argv[sep + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(command[0], command)
    buf, echo_off = b"", []
    for prompt in prompts:
        buf, seen = read_until(fd, prompt.encode(), buf)
        if not seen:
            break
        echo_off.append(wait_echo_off(fd))
        os.write(fd, answer.encode() + b"\r")
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        buf += chunk
    _, status = os.waitpid(pid, 0)
    print(json.dumps({
        "echo_off": echo_off,
        "output": buf.decode("utf-8", "replace"),
        "status": os.waitstatus_to_exitcode(status),
    }))


main()
