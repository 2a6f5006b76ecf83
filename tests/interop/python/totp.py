"""Prints the TOTP codes of an otpauth:// URI at the given unix times, one per line.

Usage: python totp.py 'otpauth://totp/...' 1700000000 1700000030
Uses pyotp, an implementation that shares nothing with Tessera's.
"""
import sys

import pyotp

totp = pyotp.parse_uri(sys.argv[1])
for t in sys.argv[2:]:
    print(totp.at(int(t)))
