"""Scrubs what would identify the maker from anything fwbench stores: private paths, the user name, and secrets."""

from __future__ import annotations

import getpass
import os
import pwd
import re
import tempfile
from pathlib import Path

from fwbench.paths import REPO

REDACTED = "<redacted>"
USER = "<user>"

#: Shortest credential value that is redacted: a shorter one ("1", "true") would blank unrelated text, and is no
#: key anyway. Values made of digits alone are left too: they are ports and flags more often than PINs.
MIN_SECRET_CHARS = 6

#: Characters that continue a path component: a root only matches where it ends a component (`/home/al` must not
#: match inside `/home/alice`), and only where it starts one (`/tmp` not inside `/var/tmp`).
_PART = r"[\w.\-]"
#: What may end right before a path although it ends in a letter: a colour code (IPython's tracebacks) or an
#: escaped newline or tab (a repr or JSON text in a log).
_LEAD = r"(?P<lead>\x1b\[[0-9;]*m|\\[nrt])"

#: Parts of a variable's name that mark a credential: such a variable is never recorded (fwbench.measure.env), even
#: if listed there, and its value is redacted from whatever is stored.
CREDENTIAL_WORDS = ("TOKEN", "KEY", "SECRET", "PASSW", "CREDENTIAL", "AUTH")

#: Well-known token formats (GitHub, Hugging Face, NVIDIA, AWS, Slack, OpenAI-style keys), redacted wherever they
#: appear, whichever variable (or none) they came from.
_KNOWN_TOKENS = re.compile(
    r"(?<![\w\-])(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|hf_[A-Za-z0-9]{30,}"
    r"|nvapi-[A-Za-z0-9_\-]{30,}|(?:AKIA|ASIA)[A-Z0-9]{16}|xox[abposr]-[A-Za-z0-9\-]{10,}|sk-[A-Za-z0-9_\-]{20,})"
    r"(?![\w\-])"
)
#: Device UUIDs look random but name hardware, not a person (CUDA_VISIBLE_DEVICES=GPU-8932f937-...).
_DEVICE_UUID = re.compile(r"(GPU|MIG)-[0-9a-fA-F-]+")


def is_credential_name(name: str) -> bool:
    """Whether a variable's name says it holds a secret (`NVIDIA_API_KEY`, `TF_TOKEN_app_terraform_io`)."""
    upper = name.upper()
    return any(word in upper for word in CREDENTIAL_WORDS)


def looks_like_token(value: str) -> bool:
    """Whether a value looks like a secret whatever its name: a known token format, one long word that mixes
    upper case, lower case and digits the way random keys do, or a long run of letters and digits (a hex key).
    Flags, numbers, lists, paths and device ids do not."""
    v = value.strip()
    if _KNOWN_TOKENS.fullmatch(v):
        return True
    if len(v) < 24 or _DEVICE_UUID.fullmatch(v) or v.startswith(("/", "-", ".")) or re.search(r"[\s,;:=]", v):
        return False
    letters, digits = re.search(r"[A-Za-z]", v), re.search(r"[0-9]", v)
    if len(v) >= 32 and letters and digits and re.fullmatch(r"[A-Za-z0-9]+", v):
        return True
    return bool(re.search(r"[a-z]", v) and re.search(r"[A-Z]", v) and digits)


def _forms(path) -> list[str]:
    """The spellings of a folder a text may hold: as given and with links resolved (/tmp may be /private/tmp)."""
    if not path:
        return []
    given = str(Path(os.path.expanduser(str(path))))
    forms = {given, os.path.realpath(given)}
    # The file system root would replace every path's first slash: never a root. (HOME=/ happens in containers.)
    return [f for f in forms if f.startswith("/") and f != "/"]


def _home_dirs() -> list[str]:
    homes = [os.environ.get("HOME")]
    try:
        homes.append(pwd.getpwuid(os.getuid()).pw_dir)
    except (KeyError, OSError):  # a uid without a passwd entry (containers)
        pass
    return [h for h in homes if h]


def _user_names() -> set[str]:
    names = {os.environ.get("USER"), os.environ.get("LOGNAME")}
    try:
        names.add(getpass.getuser())
    except (KeyError, OSError):
        pass
    # root names nobody; a one-letter name would match far too much.
    return {n for n in names if n and len(n) >= 2 and n != "root" and re.fullmatch(r"[\w.\-]+", n)}


def _secret_values(environ) -> list[str]:
    values = {v for k, v in environ.items() if is_credential_name(k)}
    return sorted((v for v in values if len(v) >= MIN_SECRET_CHARS and not v.isdigit()), key=len, reverse=True)


class Scrubber:
    """Replaces private roots by placeholders, the user name by `<user>`, and secrets by `<redacted>`, in a text or
    in a JSON-like object (dict keys included). Idempotent: scrubbing scrubbed data changes nothing."""

    def __init__(self, roots: list[tuple[str, object]], users=(), secrets=()):
        """`roots`: (placeholder, folder) in priority order: where two name the same folder, the first wins, and
        where folders nest, the deepest wins (it is tried first)."""
        self.roots: dict[str, str] = {}
        for placeholder, folder in roots:
            for form in _forms(folder):
                self.roots.setdefault(form, placeholder)
        alternatives = "|".join(re.escape(r) for r in sorted(self.roots, key=len, reverse=True))
        self._roots = (
            re.compile(rf"(?:{_LEAD}|(?<!{_PART}))(?P<root>{alternatives})(?!{_PART})") if self.roots else None
        )
        names = "|".join(re.escape(u) for u in sorted(users, key=len, reverse=True))
        # The user name as a path component, or its last part (`/tmp/torchinductor_alice`).
        self._users = re.compile(rf"(?<=/)((?:{_PART}*_)?)(?:{names})(?!{_PART})") if names else None
        self._secrets = re.compile("|".join(re.escape(s) for s in secrets)) if secrets else None

    def text(self, text: str) -> str:
        # Secrets first: one may contain a path (XAUTHORITY=/home/alice/.Xauthority), and must go whole.
        if self._secrets:
            text = self._secrets.sub(REDACTED, text)
        text = _KNOWN_TOKENS.sub(REDACTED, text)
        if self._roots:
            text = self._roots.sub(lambda m: (m.group("lead") or "") + self.roots[m.group("root")], text)
        if self._users:
            text = self._users.sub(lambda m: m.group(1) + USER, text)
        return text

    def __call__(self, value):
        """`value` scrubbed: strings anywhere in dicts (keys too), lists and tuples; other values as they are."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self(k) if isinstance(k, str) else k: self(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self(v) for v in value]
        return value


def scrubber(store=None, scratch=None, environ=None) -> Scrubber:
    """The scrubber for this process: the store, the scratch folder, the checkout, the temp folder and the home
    folder become `<store>`, `<scratch>`, `<checkout>`, `<tmp>` and `~`; the values of credential-like variables of
    `environ` (this process's environment by default) become `<redacted>`."""
    environ = os.environ if environ is None else environ
    roots = [
        ("<store>", store),
        ("<scratch>", scratch),
        ("<checkout>", REPO),
        ("<tmp>", tempfile.gettempdir()),
        ("<tmp>", environ.get("TMPDIR")),
    ]
    roots += [("~", home) for home in _home_dirs()]
    return Scrubber(roots, _user_names(), _secret_values(environ))


def scrub(value, store=None, scratch=None):
    """`value` (a text or a JSON-like object) as it may be stored: see `scrubber`."""
    return scrubber(store, scratch)(value)
