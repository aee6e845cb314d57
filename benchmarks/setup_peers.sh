#!/usr/bin/env bash
# The peer tools clkhash + anonlink pin an old `cryptography`, so they get their own virtual
# environment beside linkmatch's. The benchmarks find it at .venv-peers (or $LINKMATCH_PEER_PYTHON).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-peers
.venv-peers/bin/pip install -q "clkhash==0.18.3" "anonlink==0.15.3"
echo "peers ready: .venv-peers/bin/python"
