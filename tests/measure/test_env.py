"""What the environment record keeps: the listed variables that change a number, never a credential."""

import pytest

from fwbench import privacy
from fwbench.measure import env

#: Credentials that the old prefix rule (TF_, NVIDIA_, TORCH, TRITON_) recorded, with look-alike values.
CREDENTIALS = {
    "TF_API_TOKEN": "tok-3f9a1c0d5b7e42a8",
    "TF_TOKEN_app_terraform_io": "abc.atlasv1.Zx9QkLm3",
    "NVIDIA_API_KEY": "nvapi-0123456789abcdefghijABCDEFGHIJ",
    "TORCHSERVE_AUTH_TOKEN": "s3cr3t-value",
    "TRITON_API_KEY": "k-55aa66bb",
}


def test_credentials_are_never_recorded(monkeypatch):
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    recorded = env.recorded_environment()
    assert not set(CREDENTIALS) & set(recorded)
    assert not set(CREDENTIALS.values()) & set(recorded.values())
    assert recorded["OMP_NUM_THREADS"] == "3"


def test_only_listed_variables_are_recorded(monkeypatch):
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", "/x")  # Terraform's, not TensorFlow's
    monkeypatch.setenv("TORCH_HOME", "/somewhere")  # where weights are downloaded: changes no number
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-8932f937-d72c-4106-c12f-20bd9faed9f6")
    recorded = env.recorded_environment()
    assert "TF_CLI_CONFIG_FILE" not in recorded and "TORCH_HOME" not in recorded
    assert recorded["XLA_FLAGS"] == "--xla_force_host_platform_device_count=2"
    assert recorded["CUDA_VISIBLE_DEVICES"].startswith("GPU-")  # a device id is not a token


def test_what_the_reference_machine_recorded_is_still_recorded():
    # reference/nvidia-h100-80gb.fwbundle: fingerprint.environment and jobs' settings.env
    for name in (
        "CUDA_HOME",
        "CUDA_VERSION",
        "JAX_COMPILATION_CACHE_DIR",
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES",
        "MKL_NUM_THREADS",
        "NVIDIA_DRIVER_CAPABILITIES",
        "NVIDIA_PRODUCT_NAME",
        "NVIDIA_REQUIRE_CUDA",
        "NVIDIA_VISIBLE_DEVICES",
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "PYTHONWARNINGS",
        "TF_CPP_MIN_LOG_LEVEL",
        "TORCHINDUCTOR_CACHE_DIR",
        "TORCH_CUDA_ARCH_LIST",
        "TRITON_CACHE_DIR",
        "XLA_PYTHON_CLIENT_PREALLOCATE",
    ):
        assert env.recordable(name, "1"), name


def test_the_list_names_no_credential():
    assert not [name for name in env.RECORDED_VARIABLES if privacy.is_credential_name(name)]


@pytest.mark.parametrize(
    "value",
    ["ghp_" + "a1" * 18, "nvapi-" + "x" * 40, "hf_" + "Ab" * 17, "aB3dE5fG7hJ9kL1mN3pQ5rS7", "0123456789abcdef" * 4],
)
def test_a_listed_variable_holding_a_token_is_not_recorded(monkeypatch, value):
    monkeypatch.setenv("XLA_FLAGS", value)
    assert privacy.looks_like_token(value) and "XLA_FLAGS" not in env.recorded_environment()


@pytest.mark.parametrize(
    "value",
    [
        "16",
        "false",
        "ignore::DeprecationWarning",
        "granularity=fine,compact,1,0",
        "--xla_gpu_enable_triton_gemm=false --xla_dump_to=/tmp/x",
        "9.0a",
        "/home/someone/.cache/torchinductor",
        "expandable_segments:True",
        "GPU-8932f937-d72c-4106-c12f-20bd9faed9f6",
        "compute,graphics,utility",
    ],
)
def test_ordinary_settings_are_not_mistaken_for_tokens(value):
    assert not privacy.looks_like_token(value)
