#!/usr/bin/env bash
# setup-modbus.sh — prepares the Modbus RTU tests (gateway/tests/modbus.rs; idempotent):
# Debian's socat, which joins two pseudo-terminals back to back as a serial line.
set -euo pipefail
if ! command -v socat >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup-modbus.sh: installing socat with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends socat
  else
    echo "setup-modbus.sh: socat is missing; install it as root: sudo apt-get install -y socat" >&2
    exit 1
  fi
fi
echo "setup-modbus.sh: ready — $(socat -V | head -2 | tail -1)"
