#!/usr/bin/env bash
# Runs the edgeopt-kernels tests for aarch64 (the NEON kernels) under qemu user-mode emulation:
# correctness only, not speed. Installs what it needs only when missing: the Rust target, the
# Debian cross linker and qemu-user (.cargo/config.toml names them as linker and runner).
#
#   scripts/test-aarch64.sh [extra cargo test args]
#
# QEMU_CPU=cortex-a53 (or another model) picks the emulated core.
set -euo pipefail
cd "$(dirname "$0")/.."

target=aarch64-unknown-linux-gnu
if ! rustup target list --installed | grep -qx "$target"; then
    rustup target add "$target"
fi

missing=()
command -v aarch64-linux-gnu-gcc >/dev/null || missing+=(gcc-aarch64-linux-gnu)
command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

cargo test -p edgeopt-kernels --target "$target" "$@"
