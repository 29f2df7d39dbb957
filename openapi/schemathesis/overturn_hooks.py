"""schemathesis hooks: the two values a client never makes up.

- `Idempotency-Key` names one request: a client sends a new key with each new request and the
  same key only to repeat one. The fuzzer draws keys from a small space and reuses them with other
  bodies, which the API rightly refuses (422). Each case gets a fresh key; reuse is covered by
  the end-to-end tests (`idempotency`).
- `cursor` is the `next_cursor` of a previous page, opaque to clients. A made-up one is refused
  (400, "is not a cursor returned by this list"); generated cursors are left out.
"""
import uuid

import schemathesis


def _drops_a_parameter(case):
    """A coverage case that leaves a parameter out on purpose (Authorization, to expect 401):
    edited, schemathesis would no longer send it as the case it checks."""
    data = getattr(getattr(getattr(case, "meta", None), "phase", None), "data", None)
    return "MISSING" in str(getattr(data, "scenario", "")).upper()


@schemathesis.hook
def before_call(context, case, **kwargs):
    if _drops_a_parameter(case):
        return
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
    if case.query and "cursor" in case.query:
        del case.query["cursor"]


# X12 files are text: sent as they are, like text/plain (the remittances route takes both).
schemathesis.serializer.alias("application/edi-x12", "text/plain")
