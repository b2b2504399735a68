#!/usr/bin/env bash
# Real-kernel tier (issues 5 and 14): Debian's 6.1 and 6.12 cloud kernels under QEMU TCG, our livepatch
# modules, klptop's own output checked in each guest. Root on Debian/Ubuntu; see test/kernel/README.md for
# how long it takes. Installs what it needs with apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."
export KLP_ACCEL="${KLP_ACCEL:-tcg}"
exec bash test/kernel/run.sh "$@"
