"""What fwbench.privacy takes out of stored data: private paths, the user name, secrets; and what it leaves."""

import tempfile

from fwbench import privacy
from fwbench.paths import REPO

HOME = "/home/alice"


def scrubber(**kwargs):
    roots = [
        ("<store>", f"{HOME}/results"),
        ("<scratch>", f"{HOME}/proj/.fwbench"),
        ("<checkout>", f"{HOME}/proj"),
        ("<tmp>", "/tmp"),
        ("~", HOME),
    ]
    return privacy.Scrubber(roots, users=kwargs.get("users", ("alice",)), secrets=kwargs.get("secrets", ()))


def test_private_roots_become_placeholders_deepest_first():
    s = scrubber()
    assert s.text(f"{HOME}/proj/.fwbench/work/r1/result.json") == "<scratch>/work/r1/result.json"
    assert s.text(f"{HOME}/proj/fwbench/run/runner.py:12") == "<checkout>/fwbench/run/runner.py:12"
    assert s.text(f"{HOME}/results/runs/x") == "<store>/runs/x"
    assert s.text(f"python at {HOME}/.venv/bin/python") == "python at ~/.venv/bin/python"
    assert s.text(f"File '{HOME}/proj-old/x.py', line 3") == "File '~/proj-old/x.py', line 3"  # not the checkout
    assert s.text(f"{HOME}") == "~" and s.text("/tmp/fwbench-cell-1-x") == "<tmp>/fwbench-cell-1-x"


def test_a_root_matches_whole_path_components_only():
    s = scrubber(users=())
    assert s.text("/home/alicea/x") == "/home/alicea/x"  # another user's home
    assert s.text("/var/tmp/x") == "/var/tmp/x"  # another temp folder
    assert s.text(f"--xla_dump_to={HOME}/d") == "--xla_dump_to=~/d"
    assert s.text(f"\x1b[0;32m{HOME}/proj/a.py\x1b[0m") == "\x1b[0;32m<checkout>/a.py\x1b[0m"  # coloured traceback
    assert s.text(f"'Traceback:\\n{HOME}/proj/a.py'") == "'Traceback:\\n<checkout>/a.py'"  # a repr in a log


def test_the_user_name_goes_where_it_is_a_path_component():
    s = scrubber()
    assert s.text("/tmp/torchinductor_alice/ab/cd.py") == "<tmp>/torchinductor_<user>/ab/cd.py"
    assert s.text("/data/alice/x and /data/alicex/y") == "/data/<user>/x and /data/alicex/y"
    assert s.text("alice measured this") == "alice measured this"  # prose is not a path


def test_secrets_are_redacted_whole_and_first():
    secret = "tok-9f8e7d6c5b4a3f2e1d0c"
    s = scrubber(secrets=(secret, f"{HOME}/.Xauthority"))
    assert s.text(f"Authorization: Bearer {secret}!") == "Authorization: Bearer <redacted>!"
    assert s.text(f"XAUTHORITY={HOME}/.Xauthority") == "XAUTHORITY=<redacted>"
    gh = "ghp_" + "Ab1" * 12
    assert s.text(f"token {gh} leaked") == "token <redacted> leaked"  # a known format, whatever its variable


def test_only_credential_like_variables_long_enough_are_secrets():
    environ = {
        "HOME": HOME,
        "TF_API_TOKEN": "tok-123456789",
        "NVIDIA_API_KEY": "nvapi-xyz-123456",
        "AUTH_PIN": "12345678",
        "SOME_TOKEN": "1",
        "OMP_NUM_THREADS": "4",
        "TORCHSERVE_AUTH_TOKEN": "opensesame",
    }
    s = privacy.scrubber(environ=environ)
    text = s.text("tok-123456789 nvapi-xyz-123456 opensesame 12345678 threads 1 4")
    assert text == "<redacted> <redacted> <redacted> 12345678 threads 1 4"


def test_json_like_objects_keys_included_and_other_values_kept():
    s = scrubber(secrets=("s3cr3t-value",))
    doc = {
        "python": {"executable": f"{HOME}/.venv/bin/python"},
        f"{HOME}/k": [1, 2.5, None, True, "s3cr3t-value"],
        "nested": ({"cache": f"{HOME}/proj/.fwbench/c"},),
    }
    assert s(doc) == {
        "python": {"executable": "~/.venv/bin/python"},
        "~/k": [1, 2.5, None, True, "<redacted>"],
        "nested": [{"cache": "<scratch>/c"}],
    }
    assert s(s(doc)) == s(doc)  # idempotent: a stored document scrubbed again is unchanged


def test_the_process_scrubber_knows_this_checkout_home_and_temp_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "fakehome"))
    monkeypatch.setenv("TRITON_API_KEY", "k-0123456789")
    text = f"{REPO}/fwbench {tmp_path}/fakehome/.cache {tempfile.gettempdir()}/x k-0123456789 {tmp_path}/s/runs"
    assert privacy.scrub(text, store=tmp_path / "s") == "<checkout>/fwbench ~/.cache <tmp>/x <redacted> <store>/runs"
