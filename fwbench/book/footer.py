"""The line at the foot of every page: which fwbench source built the book, linked where it is public.

A reader who cites a number needs the code that produced it. The link is the checkout's `origin` remote (or
FWBENCH_SOURCE_URL), reduced to a plain https address: credentials, ssh forms and anything that is not a web
address are never shown. Without one the footer names the commit alone. A Sphinx extension listed in _config.yml.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
from urllib.parse import urlsplit, urlunsplit

from fwbench.paths import REPO

#: Overrides the checkout's `origin` remote (for a build made from a copy without one).
SOURCE_VARIABLE = "FWBENCH_SOURCE_URL"
#: Hosts whose web pages show a commit at <repository>/tree/<commit>.
TREE_HOSTS = ("github.com", "gitlab.com", "codeberg.org")


def public_url(remote: str) -> str | None:
    """A remote as a web address anyone can open, or None: `git@host:owner/repo.git` and `ssh://` forms become
    https, user names and passwords are dropped, a trailing `.git` goes; a local path is not public."""
    remote = remote.strip()
    m = re.fullmatch(r"[\w.-]+@([\w.-]+):([\w./-]+)", remote)
    if m:
        remote = f"https://{m.group(1)}/{m.group(2)}"
    parts = urlsplit(remote)
    if parts.scheme == "ssh":
        parts = parts._replace(scheme="https")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return None
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    path = re.sub(r"\.git$", "", parts.path.rstrip("/"))
    if not re.fullmatch(r"[\w./~-]*", path):
        return None
    return urlunsplit(("https", host, path, "", ""))


def source_url() -> str | None:
    wanted = os.environ.get(SOURCE_VARIABLE, "")
    if wanted:
        return public_url(wanted)
    try:
        proc = subprocess.run(
            ["git", "-C", str(REPO), "remote", "get-url", "origin"], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return public_url(proc.stdout) if proc.returncode == 0 else None


def footer_html(version: str, url: str | None, commit: str) -> str:
    """'Built by fwbench <version> from <source> at commit <sha>', escaped, linked where public."""
    short = html.escape(commit[:10])
    if url is None:
        return (
            f"Built by fwbench, {html.escape(version)}, from commit <code>{short}</code> (no public source "
            f"address is configured: set {SOURCE_VARIABLE} or the checkout's origin remote)."
        )
    link = html.escape(url, quote=True)
    at = (
        f'<a href="{link}/tree/{html.escape(commit, quote=True)}">commit <code>{short}</code></a>'
        if urlsplit(url).hostname in TREE_HOSTS and re.fullmatch(r"[0-9a-f]{40}", commit)
        else f"commit <code>{short}</code>"
    )
    return f'Built by fwbench, {html.escape(version)}, from <a href="{link}">its source</a> at {at}.'


def add_footer(app, config) -> None:
    from fwbench.measure.fingerprint import git_commit

    version = os.environ.get("FWBENCH_REPORT_VERSION", "unversioned build")
    options = dict(config.html_theme_options or {})
    options["extra_footer"] = footer_html(version, source_url(), git_commit()["commit"])
    config.html_theme_options = options


def setup(app):
    app.connect("config-inited", add_footer)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
