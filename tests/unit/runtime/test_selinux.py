"""SELinux relabel choices and the paths pipex refuses to relabel."""

from __future__ import annotations

import pytest

from pipex.errors import UnsafePath
from pipex.runtime.selinux import choose_relabel, mount_option, refusal

HOME = "/home/ana"
HINT = (
    "move the data into a directory of its own (e.g. under your workdir), "
    "or set `securityOpt: [label=disable]` on the step to run it without SELinux separation"
)


@pytest.mark.parametrize(
    ("role", "expected"), [("input", "shared"), ("mount", "shared"), ("output", "private"), ("cache", "private")]
)
def test_roles_when_enforcing(role: str, expected: str) -> None:
    assert choose_relabel(role, "/srv/data/x", enforcing=True, home=HOME) == expected  # type: ignore[arg-type]


def test_no_relabel_unless_enforcing_or_when_label_is_disabled() -> None:
    assert choose_relabel("output", "/srv/data", enforcing=False, home=HOME) is None
    assert choose_relabel("mount", HOME, enforcing=True, label_disabled=True, home=HOME) is None
    assert choose_relabel("mount", "/usr", enforcing=False, home=HOME) is None  # nothing relabelled, nothing refused


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/", "refusing to relabel the system directory / for SELinux"),
        ("/home", "refusing to relabel the system directory /home for SELinux"),
        ("/tmp", "refusing to relabel the system directory /tmp for SELinux"),
        ("/var", "refusing to relabel the system directory /var for SELinux"),
        ("/run", "refusing to relabel the system directory /run for SELinux"),
        ("/opt", "refusing to relabel the system directory /opt for SELinux"),
        ("/srv", "refusing to relabel the system directory /srv for SELinux"),
        ("/root", "refusing to relabel the system directory /root for SELinux"),
        (HOME, "refusing to relabel your home directory /home/ana for SELinux"),
        ("/home/ana/", "refusing to relabel your home directory /home/ana for SELinux"),
        ("/home/ana/data/..", "refusing to relabel your home directory /home/ana for SELinux"),
        ("/usr", "refusing to relabel /usr for SELinux: it belongs to the system (/usr)"),
        ("/usr/share/data", "refusing to relabel /usr/share/data for SELinux: it belongs to the system (/usr)"),
        ("/etc/ssl", "refusing to relabel /etc/ssl for SELinux: it belongs to the system (/etc)"),
        ("/lib64", "refusing to relabel /lib64 for SELinux: it belongs to the system (/lib64)"),
        ("/boot", "refusing to relabel /boot for SELinux: it belongs to the system (/boot)"),
        ("/dev/shm", "refusing to relabel /dev/shm for SELinux: it belongs to the system (/dev)"),
        ("/proc", "refusing to relabel /proc for SELinux: it belongs to the system (/proc)"),
        ("/sys/fs", "refusing to relabel /sys/fs for SELinux: it belongs to the system (/sys)"),
        ("/bin", "refusing to relabel /bin for SELinux: it belongs to the system (/bin)"),
        ("/sbin", "refusing to relabel /sbin for SELinux: it belongs to the system (/sbin)"),
        ("//etc", "refusing to relabel /etc for SELinux: it belongs to the system (/etc)"),
        (
            "/var/lib/containers/storage",
            "refusing to relabel /var/lib/containers/storage for SELinux: it belongs to the system "
            "(/var/lib/containers)",
        ),
        ("data", "cannot decide the SELinux label of a relative path 'data'"),
    ],
)
def test_refused(path: str, message: str) -> None:
    assert refusal(path, home=HOME) == message
    with pytest.raises(UnsafePath) as caught:
        choose_relabel("input", path, enforcing=True, home=HOME)
    assert (caught.value.message, caught.value.hint) == (message, HINT)


@pytest.mark.parametrize(
    "path", ["/home/ana/data", "/home/bob", "/tmp/pipex-in", "/srv/data", "/var/data", "/opt/datasets", "/library"]
)
def test_allowed(path: str) -> None:
    assert refusal(path, home=HOME) is None


def test_mount_option() -> None:
    assert [mount_option(r) for r in ("shared", "private", None)] == ["z", "Z", None]
