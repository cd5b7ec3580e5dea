#!/usr/bin/env python3
"""Validates an OpenAPI document with openapi-spec-validator: prints "valid", or the first error and exits 1.

Usage: validate_openapi.py openapi.json
"""
import json
import sys

from openapi_spec_validator import validate


def main():
    with open(sys.argv[1], encoding="utf-8") as file:
        document = json.load(file)
    try:
        validate(document)
    except Exception as error:  # the validator's errors have no common base worth naming here
        print(f"invalid: {error}")
        sys.exit(1)
    print("valid")


if __name__ == "__main__":
    main()
