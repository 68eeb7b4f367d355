#!/usr/bin/env bash
# setup-pkcs11.sh — prepares the PKCS#11 tests (gateway/tests/pkcs11.rs; idempotent): Debian's
# SoftHSM2, a software PKCS#11 token (softhsm2-util and the module libsofthsm2.so). The tests
# make their own token in a temporary directory; this script creates no token.
set -euo pipefail

module="${DEU_TEST_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}"

if ! command -v softhsm2-util >/dev/null || [ ! -e "$module" ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup-pkcs11.sh: installing SoftHSM2 with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends softhsm2
  else
    echo "setup-pkcs11.sh: SoftHSM2 is missing (softhsm2-util, $module). Install it as root, then run this again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y softhsm2" >&2
    echo "(or point DEU_TEST_PKCS11_MODULE at another build of libsofthsm2.so)" >&2
    exit 1
  fi
  if ! command -v softhsm2-util >/dev/null || [ ! -e "$module" ]; then
    echo "setup-pkcs11.sh: apt-get installed softhsm2 but softhsm2-util or $module is still missing" >&2
    exit 1
  fi
fi

echo "setup-pkcs11.sh: ready — $(softhsm2-util --version), module $module"
