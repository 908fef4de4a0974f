"""Schemathesis hooks for the portal's API run (tests/it/schemathesis.rs).

JSON Schema can say how long a password is, not how easy it is to guess: the portal
refuses a password with a zxcvbn score under 3 (answered 422, as the document says).
Passwords drawn for the `password` format are therefore strong ones; every other value,
and every password the schema refuses, is drawn by schemathesis as usual.
"""

import hashlib

import schemathesis
from hypothesis import strategies as st

schemathesis.openapi.format(
    "password",
    st.binary(min_size=8, max_size=8).map(
        lambda seed: "Pw-" + hashlib.sha256(seed).hexdigest()[:24]
    ),
)
