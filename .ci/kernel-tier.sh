#!/usr/bin/env bash
# Real-kernel tier (issue 5): Debian's current cloud kernel under QEMU TCG, our livepatch modules,
# klptop's own output checked in the guest. Root on Debian/Ubuntu; about 2 minutes on an idle 2-core
# machine. Installs what it needs with apt-get. See test/kernel/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export KLP_ACCEL="${KLP_ACCEL:-tcg}"
exec bash test/kernel/run.sh "$@"
