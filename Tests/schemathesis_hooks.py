"""Schemathesis hooks: the string formats of ShelfTag's API that a JSON Schema pattern cannot say, so that the
generated "valid" requests are valid (a GS1 check digit, an amount with its currency, a sale window, a contact, a fresh
idempotency key)."""
import schemathesis
from hypothesis import strategies as st

# Products of the sample data, so that valid requests also reach real ones.
KNOWN_GTINS = ["03760001001983", "03760001000634", "03760001039092", "03760001009491"]


def with_check_digit(body):
    """GS1's mod-10 check digit appended to 13 digits."""
    total = sum(int(digit) * (3 if index % 2 == 0 else 1) for index, digit in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


schemathesis.openapi.format(
    "gtin", st.one_of(st.sampled_from(KNOWN_GTINS), st.integers(0, 10**13 - 1).map(lambda n: with_check_digit(f"{n:013d}"))))
def euros(low, high):
    return st.integers(low, high).map(lambda cents: f"{cents // 100}.{cents % 100:02d} EUR")


# A sale price is lower than the price: the one under 1 EUR, the other from 1 EUR.
schemathesis.openapi.format("money", euros(100, 99_999_99))
schemathesis.openapi.format("sale-money", euros(1, 99))
# A key per request: one key sent with two different requests is the client's mistake (422), not valid use.
schemathesis.openapi.format("idempotency-key", st.uuids().map(str))
schemathesis.openapi.format(
    "sale-window", st.sampled_from(["2026-11-20T08:00+0100/2026-11-30T20:00+0100", "2026-12-01T00:00Z/2026-12-24T23:59Z"]))
schemathesis.openapi.format("contact", st.from_regex(r"[a-z]{1,12}@example\.com", fullmatch=True))
