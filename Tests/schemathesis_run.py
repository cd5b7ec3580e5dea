"""Runs schemathesis against a live resolver, as make test does: python schemathesis_run.py BASE_URL TOKEN.

Every check on, a fixed seed, 20 examples an operation; the hooks give the generator ShelfTag's string formats and
schemathesis.toml the settings (the token's store). Exits with schemathesis's status: 0 only with no failure."""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
base, token = sys.argv[1], sys.argv[2]
os.environ["SCHEMATHESIS_HOOKS"] = os.path.join(here, "schemathesis_hooks.py")
st = os.path.join(os.path.dirname(sys.executable), "st")
os.execv(st, [st, "--config-file", os.path.join(here, "schemathesis.toml"), "run", f"{base}/openapi.json", "--url", base,
              "--checks", "all", "--seed", "1", "--max-examples", "20", "-H", f"Authorization: Bearer {token}", "--no-color"])
