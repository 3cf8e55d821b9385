"""The footer's source link: public web addresses only, escaped, the commit named."""

from fwbench.book.footer import footer_html, public_url


def test_remotes_become_plain_web_addresses_without_credentials():
    assert public_url("git@github.com:fwbench/fwbench.git") == "https://github.com/fwbench/fwbench"
    assert public_url("https://user:s3cret@github.com/o/r.git\n") == "https://github.com/o/r"
    assert public_url("ssh://git@gitlab.com/o/r.git") == "https://gitlab.com/o/r"
    assert public_url("/home/someone/fwbench") is None
    assert public_url("file:///srv/fwbench.git") is None
    assert public_url('https://example.org/o/r"><script>') is None


def test_the_footer_names_the_commit_and_escapes_what_it_shows():
    sha = "0123456789abcdef0123456789abcdef01234567"
    linked = footer_html("2026-12-06 (0123456789)", "https://github.com/o/r", sha)
    assert 'href="https://github.com/o/r"' in linked and f'href="https://github.com/o/r/tree/{sha}"' in linked
    plain = footer_html("<b>v</b>", None, sha)
    assert "0123456789" in plain and "<b>" not in plain and "FWBENCH_SOURCE_URL" in plain
    assert "tree/" not in footer_html("v", "https://example.org/o/r", sha)
