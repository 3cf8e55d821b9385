"""npm ci from the committed locks and the converter's environment: where they go, how a failure reads."""

import pytest

from fwbench.experiments.outside_python import installs


def test_every_package_set_has_a_lock_pinning_exact_versions():
    import json

    assert installs.packages() == ["onnxruntime-node", "onnxruntime-web", "tfjs-node", "tfjs-wasm"]
    for name in installs.packages():
        package = json.loads((installs.NODE / name / "package.json").read_text())
        lock = json.loads((installs.NODE / name / "package-lock.json").read_text())
        for dep, version in package["dependencies"].items():
            assert version[0].isdigit(), f"{name}: {dep} must be pinned exactly, not {version}"
            assert lock["packages"][f"node_modules/{dep}"]["version"] == version


def test_the_install_goes_to_a_folder_named_by_the_lock_digest(tmp_path):
    folder = installs.NODE / "onnxruntime-node"
    a = installs.digest(folder / "package.json", folder / "package-lock.json")
    other = tmp_path / "package-lock.json"
    other.write_text((folder / "package-lock.json").read_text() + " ")
    assert a != installs.digest(folder / "package.json", other) and len(a) == 16


def test_an_unknown_package_set_is_refused():
    with pytest.raises(ValueError, match="no npm package set"):
        installs.npm_install("left-pad", 10)


def test_a_failed_install_names_the_line_that_says_why():
    output = "npm error path x\nnpm error Error: getaddrinfo ENOTFOUND storage.googleapis.com\nnpm error done\n"
    err = installs.InstallFailed(f"npm ci failed: {installs._first_error(output)}", output).as_error()
    assert err["type"] == "InstallFailed" and "ENOTFOUND storage.googleapis.com" in err["message"]
    assert err["traceback"] == output


def test_a_command_that_fails_is_an_install_failure_with_its_output(tmp_path):
    with pytest.raises(installs.InstallFailed, match="exit status 3") as caught:
        installs._run(["sh", "-c", "echo 'Error: nope' >&2; exit 3"], 30, "the test command")
    assert "Error: nope" in caught.value.output


def test_folder_bytes_counts_files_once(tmp_path):
    (tmp_path / "a").write_bytes(b"x" * 10)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "b").write_bytes(b"y" * 5)
    (tmp_path / "link").symlink_to(tmp_path / "a")
    assert installs.folder_bytes(tmp_path) == 15
