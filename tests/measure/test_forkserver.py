"""The fork server on a tiny real server module: each request in a fork of its own, failures and hangs as replies."""

import json
import textwrap
from pathlib import Path

import pytest

from fwbench.measure.child import ended_how
from fwbench.measure.forkserver import ForkServer, child_stderr

#: A server whose requests say what the fork does; STATE shows whether one fork's change reaches the next.
SERVER = textwrap.dedent("""
    import json, os, sys, time
    from fwbench.measure import forkserver

    STATE = {"touched": False}
    SERVER_PID = os.getpid()

    def handle(request):
        action = request["action"]
        print("chatter on stdout", flush=True)
        if action == "raise":
            raise RuntimeError("planted failure")
        if action == "hang":
            time.sleep(60)
        if action == "exit":
            os._exit(7)
        if action == "leave":  # a file in the temp folder, as a library would leave one for atexit to delete
            import tempfile
            with open(request["out"], "w") as f:
                f.write(tempfile.NamedTemporaryFile(delete=False).name)
            return
        seen = dict(STATE)
        STATE["touched"] = True
        with open(request["out"], "w") as f:
            json.dump({"pid": os.getpid(), "server": SERVER_PID, "seen": seen, "cwd": os.getcwd(),
                       "stdin": sys.stdin.read()}, f)

    if __name__ == "__main__":
        assert sys.argv[1:] == ["--flag", "--serve"], sys.argv
        print("server start-up chatter", flush=True)
        sys.exit(forkserver.serve(handle, lambda r: "no such action" if r["action"] == "bad" else None))
""")


@pytest.fixture
def server(tmp_path):
    (tmp_path / "tinyserver.py").write_text(SERVER)  # `-m tinyserver` finds it: the server's cwd is tmp_path
    with ForkServer("tinyserver", ["--flag"], cwd=tmp_path) as s:
        yield s


def ask(server, tmp_path, action, name, timeout_s=30.0):
    workdir = tmp_path / name
    workdir.mkdir()
    reply = server.ask(
        {"action": action, "out": str(workdir / "out.json"), "workdir": str(workdir), "timeout_s": timeout_s},
        timeout_s + 30,
    )
    return reply, workdir


def test_every_request_runs_in_a_fork_where_no_other_request_ran(server, tmp_path):
    (a, wa), (b, wb) = ask(server, tmp_path, "write", "a"), ask(server, tmp_path, "write", "b")
    assert a == b == {"returncode": 0, "timed_out": False}
    first, second = (json.loads((w / "out.json").read_text()) for w in (wa, wb))
    assert first["server"] == second["server"] and len({first["pid"], second["pid"], first["server"]}) == 3
    assert first["seen"] == second["seen"] == {"touched": False}  # the first fork's change stayed in the first fork
    assert first["cwd"] == str(wa) and first["stdin"] == ""  # in its workdir; the request pipe is not its stdin
    assert (wa / "stdout.txt").read_text() == "chatter on stdout\n"


def test_a_fork_that_fails_dies_or_hangs_is_a_reply_and_the_server_goes_on(server, tmp_path):
    raised, workdir = ask(server, tmp_path, "raise", "raise")
    assert raised == {"returncode": 1, "timed_out": False}
    assert "RuntimeError: planted failure" in child_stderr(workdir)
    exited, _ = ask(server, tmp_path, "exit", "exit")
    assert exited["returncode"] == 7 and ended_how(7) == "exit status 7"
    hung, _ = ask(server, tmp_path, "hang", "hang", timeout_s=0.5)
    assert hung["timed_out"] and hung["returncode"] < 0 and ended_how(hung["returncode"]) == "killed by signal 9"
    assert ask(server, tmp_path, "bad", "bad")[0] == {"problem": "no such action"}
    assert ask(server, tmp_path, "write", "after")[0]["returncode"] == 0


def test_a_server_that_is_gone_answers_none(server, tmp_path):
    server.kill()
    assert ask(server, tmp_path, "write", "gone")[0] is None


def test_a_server_that_never_starts_answers_none(tmp_path):
    with ForkServer("fwbench.no_such_module", [], cwd=tmp_path) as s:
        (tmp_path / "w").mkdir()
        assert s.ask({"action": "write", "workdir": str(tmp_path / "w"), "timeout_s": 5}, 30) is None


def test_what_forks_leave_in_the_temp_folder_stays_in_the_sessions(server, tmp_path, session_temp_folder):
    _, workdir = ask(server, tmp_path, "leave", "leave")
    left = Path((workdir / "out.json").read_text())
    # Not the machine's temp folder: tests/conftest.py removes this one when the session ends.
    assert left.is_file() and Path(session_temp_folder) in left.parents
