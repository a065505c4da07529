#!/usr/bin/env bash
# Installs the system packages the project needs when they are missing:
# a Python 3 interpreter at /usr/bin/python3 (the local sandbox runs it) and,
# for the test suite, redis-server (the Redis cache store is tested against a
# real server) and python3-pip (the local sandbox's pip install is tested
# against a package index served on loopback) and numpy, pandas and matplotlib
# for the interpreter (the agent's data-analysis tests plot with them in the
# sandbox). Uses apt-get (Debian/Ubuntu), through sudo when not root.
#
#   scripts/provision.sh          what the test suite needs
#   scripts/provision.sh python   only what the quickstart needs
set -euo pipefail

missing=()
[ -x /usr/bin/python3 ] || missing+=(python3)
if [ "${1:-all}" != python ]; then
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  # pip for the local sandbox's package-install tests
  if ! [ -x /usr/bin/python3 ] || ! /usr/bin/python3 -m pip --version >/dev/null 2>&1; then
    missing+=(python3-pip)
  fi
  # the data-analysis stack the agent tests use in the sandbox
  if ! [ -x /usr/bin/python3 ] || ! /usr/bin/python3 -c 'import numpy, pandas, matplotlib' >/dev/null 2>&1; then
    missing+=(python3-numpy python3-pandas python3-matplotlib)
  fi
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "provision: missing ${missing[*]} and apt-get is not available; install them with your package manager" >&2
  exit 1
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "provision: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
