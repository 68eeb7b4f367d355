#!/usr/bin/env bash
# setup-mqtt.sh — prepares the meter-source tests (idempotent): Debian's Mosquitto broker (with
# mosquitto_passwd) for gateway/tests/mqtt.rs, and socat for the pseudo-terminal pair of
# gateway/tests/iec62056.rs. The tests start their own broker and socat; this script starts none.
set -euo pipefail

missing=()
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v mosquitto_passwd >/dev/null || missing+=(mosquitto)
command -v socat >/dev/null || missing+=(socat)

if [ "${#missing[@]}" -gt 0 ]; then
  packages="$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')"
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup-mqtt.sh: installing ${packages}with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    # shellcheck disable=SC2086
    apt-get install -y --no-install-recommends $packages
  else
    echo "setup-mqtt.sh: missing ${packages}. Install them as root, then run this again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${packages}" >&2
    exit 1
  fi
fi

mosquitto="$(command -v mosquitto || echo /usr/sbin/mosquitto)"
for tool in "$mosquitto" mosquitto_passwd socat; do
  if ! command -v "$tool" >/dev/null; then
    echo "setup-mqtt.sh: apt-get ran but $tool is still missing" >&2
    exit 1
  fi
done

echo "setup-mqtt.sh: ready — $("$mosquitto" -h 2>/dev/null | head -n 1), $(socat -V 2>/dev/null | grep -m1 'socat version')"
