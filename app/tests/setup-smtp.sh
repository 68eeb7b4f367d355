#!/usr/bin/env bash
# setup-smtp.sh — prepares the alerts test (idempotent): Debian's aiosmtpd, a real SMTP server
# app/tests/alerts.rs starts on a free port. This script starts nothing.
set -euo pipefail

if /usr/bin/python3 -c "import aiosmtpd" 2>/dev/null || python3 -c "import aiosmtpd" 2>/dev/null; then
  echo "setup-smtp.sh: ready — aiosmtpd"
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  echo "setup-smtp.sh: installing python3-aiosmtpd with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends python3-aiosmtpd
else
  echo "setup-smtp.sh: aiosmtpd is missing. Install it as root, then run this again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y python3-aiosmtpd" >&2
  exit 1
fi
/usr/bin/python3 -c "import aiosmtpd" && echo "setup-smtp.sh: ready — aiosmtpd"
