"""Unit tests of the sandbox plan and the cgroup discovery (no server; the probe itself is exercised
by every server the other suites start)."""

from __future__ import annotations

from pathlib import Path

from o16n.server.config import Settings
from o16n.server.runtime import cgroups
from o16n.server.runtime.sandbox import SandboxPlan, _mkdirs, system_view

HYBRID_MOUNTINFO = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
HYBRID_CGROUP = "8:pids:/\n4:memory:/process_api/abc\n0::/\n"


def test_cgroup_mounts_and_own_paths_are_parsed():
    mounts = cgroups._mounts(HYBRID_MOUNTINFO)
    assert [(str(m), fs) for m, _root, fs, _opts in mounts] == [
        ("/sys/fs/cgroup/memory", "cgroup"), ("/sys/fs/cgroup/pids", "cgroup"), ("/sys/fs/cgroup/unified", "cgroup2")]
    assert "memory" in mounts[0][3]
    own = cgroups._own_paths(HYBRID_CGROUP)
    assert own == {"pids": "/", "memory": "/process_api/abc", "": "/"}
    assert cgroups._inside(Path("/sys/fs/cgroup/memory"), "/", own["memory"]) == Path("/sys/fs/cgroup/memory/process_api/abc")
    # Inside a cgroup namespace the mount root may be the process's own group.
    assert cgroups._inside(Path("/sys/fs/cgroup"), "/a/b", "/a/b/c") == Path("/sys/fs/cgroup/c")


def test_a_worker_group_lists_joins_and_removes_per_hierarchy(tmp_path):
    v2 = cgroups.Hierarchy(2, tmp_path / "v2", frozenset(), True)
    v1 = cgroups.Hierarchy(1, tmp_path / "v1", frozenset({"memory"}), False)
    for h in (v2, v1):
        h.root.mkdir()
    found = cgroups.Cgroups([v2, v1], [])
    assert found.killer is v2 and found.memory is v1 and found.pids is None
    group = found.create("w-1", 1 << 30, 64)
    assert group.procs_files == [tmp_path / "v2/w-1/cgroup.procs", tmp_path / "v1/w-1/cgroup.procs"]
    assert (tmp_path / "v1/w-1/memory.limit_in_bytes").read_text() == str(1 << 30)
    assert not (tmp_path / "v1/w-1/memory.memsw.limit_in_bytes").exists()  # optional files only where the kernel has them
    (tmp_path / "v1/w-1/memory.limit_in_bytes").unlink()  # a real cgroup's files go with its directory
    assert group.empty() and group.oom_kills() == 0
    assert group.remove() and not (tmp_path / "v1/w-1").exists() and not (tmp_path / "v2/w-1").exists()


def test_the_system_view_hides_the_data_dir_and_homes(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    view = system_view(data)
    assert ["--ro-bind", "/usr", "/usr"] == view[view.index("/usr") - 1: view.index("/usr") + 2]
    for private in ("/proc", "/dev", "/tmp"):
        assert private not in [view[i + 1] for i, a in enumerate(view) if a == "--ro-bind"]
    assert view[-4:] == ["--perms", "0000", "--tmpfs", str(data.resolve())]
    pairs = list(zip(view, view[1:]))
    assert ("--tmpfs", "/root") in pairs and pairs.index(("--tmpfs", "/root")) > pairs.index(("--ro-bind", "/root"))


def test_missing_directories_are_made_only_inside_the_sandboxs_tmpfs():
    assert _mkdirs(Path("/tmp/a/b"), ["/tmp"]) == ["--perms", "0755", "--dir", "/tmp/a", "--perms", "0755", "--dir", "/tmp/a/b"]
    assert _mkdirs(Path("/var/lib/o16n"), ["/tmp", "/root"]) == []


def test_the_command_line_for_root_and_for_a_normal_user(tmp_path):
    base = {"mode": "auto", "applied": "namespaces", "bwrap": "/usr/bin/bwrap", "system": ("--ro-bind", "/usr", "/usr")}
    as_root = SandboxPlan(network="none", as_root=True, **base).command(tmp_path, ["python", "-m", "w"])  # type: ignore[arg-type]
    assert as_root[0] == "/usr/bin/bwrap" and as_root[-4:] == ["--", "python", "-m", "w"]
    for flag in ("--unshare-pid", "--unshare-ipc", "--unshare-net", "--die-with-parent", "--new-session"):
        assert flag in as_root
    assert "CAP_SETUID" in as_root and "--unshare-user" not in as_root
    assert as_root[as_root.index("--bind") + 1:as_root.index("--bind") + 3] == [str(tmp_path), "/o16n/work"]
    user = SandboxPlan(network="host", as_root=False, **base).command(tmp_path, ["python"])  # type: ignore[arg-type]
    assert "--unshare-user" in user and "--disable-userns" in user and "--unshare-net" not in user
    assert "CAP_SETUID" not in user


def test_required_without_bubblewrap_refuses_and_auto_falls_back(tmp_path):
    required = SandboxPlan.probe(Settings(data_dir=tmp_path, worker_sandbox="required", worker_bwrap="/nonexistent/bwrap"))
    assert required.applied == "none" and "not installed" in (required.problem or "")
    try:
        required.check()
    except Exception as exc:  # SandboxUnavailable
        assert "required" in str(exc)
    else:
        raise AssertionError("required did not refuse")
    auto = SandboxPlan.probe(Settings(data_dir=tmp_path, worker_bwrap="/nonexistent/bwrap"))
    auto.check()  # no refusal
    assert auto.applied in ("landlock", "none") and auto.warnings
    off = SandboxPlan.probe(Settings(data_dir=tmp_path, worker_sandbox="off"))
    assert off.applied == "none" and not off.warnings
