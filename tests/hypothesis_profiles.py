"""Hypothesis profiles for the property tests, chosen by HYPOTHESIS_PROFILE:

- `bounded` (the default, `make test`): few examples, derandomized (the same examples on every run,
  so a failure is repeatable and the run stays quick), no example database;
- `fuzz` (`make fuzz` sets HYPOTHESIS_PROFILE=fuzz): many more examples, a new random draw on every
  run, failures kept in .hypothesis/ and replayed first on the next run.

No deadline in either: the machines running the tests are shared, and a slow example is not a
failure. A test that needs a different budget scales it with `examples(n)`.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

BOUNDED_EXAMPLES = 100
FUZZ_EXAMPLES = 5000

settings.register_profile(
    "bounded", max_examples=BOUNDED_EXAMPLES, deadline=None, derandomize=True, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "fuzz", max_examples=FUZZ_EXAMPLES, deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow],
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "bounded")
settings.load_profile(PROFILE)


def examples(bounded: int) -> int:
    """`bounded` examples under the bounded profile, and as many more under `fuzz` as the profiles differ
    (for tests whose examples are expensive, such as HTTP requests on a database)."""
    return bounded * FUZZ_EXAMPLES // BOUNDED_EXAMPLES if PROFILE == "fuzz" else bounded
