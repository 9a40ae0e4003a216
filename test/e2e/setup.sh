#!/usr/bin/env bash
# Installs what the e2e tests need, idempotently (seconds when already done):
#   - Debian packages: chromium (browser), libkrb5-dev (code-server's kerberos module),
#     and a C++ toolchain + python3 for node-gyp if absent;
#   - Node 24 (npm package `node`) into test/e2e/node24/   from test/e2e/deps/node24/ (lock file);
#   - code-server into test/e2e/server/ (built under Node 24) from test/e2e/deps/server/.
# Install folders are gitignored; the package.json + package-lock.json under deps/ are tracked.
# Usage: bash test/e2e/setup.sh [--force]   (--force reinstalls the npm folders)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

now() { date +%s.%N; }
T0=$(now)
step_start=$T0
step() { step_start=$(now); echo "[e2e-setup] $*"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
step_done() { echo "[e2e-setup]   done in $(elapsed "$step_start") s"; }

# ---------------------------------------------------------------- apt packages
need_apt=()
[[ -x /usr/bin/chromium ]] || need_apt+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
command -v make >/dev/null 2>&1 || need_apt+=(make)
command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
if (( ${#need_apt[@]} )); then
  step "apt-get install ${need_apt[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  step_done
else
  echo "[e2e-setup] apt packages present (chromium, libkrb5-dev, toolchain)"
fi

# ---------------------------------------------------------------- npm folders
# install_folder <deps subdir> <target dir> <check file> [env assignments...]
# Copies package.json + package-lock.json and runs `npm ci` when the lock changed or the
# check file is missing. A stamp holds the hash of the two files it was installed from.
install_folder() {
  local name="$1" src="$HERE/deps/$1" dst="$2" check="$3"; shift 3
  local hash stamp="$dst/.e2e-setup-stamp"
  hash=$(cat "$src/package.json" "$src/package-lock.json" | sha256sum | cut -d' ' -f1)
  if (( !FORCE )) && [[ -f "$stamp" && "$(cat "$stamp")" == "$hash" && -e "$dst/$check" ]]; then
    echo "[e2e-setup] $(basename "$dst")/ up to date"
    return
  fi
  step "npm ci in ${dst#"$HERE/"}/ (from deps/$name)"
  mkdir -p "$dst"
  rm -f "$stamp"
  cp "$src/package.json" "$src/package-lock.json" "$dst/"
  # When run from `npm test`, the outer npm exports npm_config_* (user agent "node/v20" among
  # them): the inner npm would inherit them and code-server's postinstall would see Node 20.
  (cd "$dst" && for v in $(env | grep -o '^npm_config_[A-Za-z_]*' ); do unset "$v"; done && env "$@" npm ci --no-audit --no-fund --loglevel=error)
  [[ -e "$dst/$check" ]] || { echo "[e2e-setup] ERROR: $dst/$check missing after npm ci" >&2; exit 1; }
  echo "$hash" > "$stamp"
  step_done
}

NODE24_DIR="$HERE/node24"
install_folder node24 "$NODE24_DIR" node_modules/node/package.json PATH="$PATH"

# The `node` package's preinstall puts the real binary in a platform package.
NODE_PKG=$(find "$NODE24_DIR/node_modules" -maxdepth 4 -type d -name 'node-linux-*' | head -n1)
if [[ -z "$NODE_PKG" || ! -x "$NODE_PKG/bin/node" ]]; then
  echo "[e2e-setup] ERROR: no node-linux-* binary under $NODE24_DIR/node_modules (rerun with --force)" >&2
  exit 1
fi
NODE24_BIN="$NODE_PKG/bin"
NODE24_VERSION=$("$NODE24_BIN/node" --version)
[[ "$NODE24_VERSION" == v24.* ]] || { echo "[e2e-setup] ERROR: expected Node 24, got $NODE24_VERSION" >&2; exit 1; }
echo "[e2e-setup] Node $NODE24_VERSION at $NODE24_BIN"

# code-server's postinstall insists on Node 24 (read from npm's user agent, hence PATH), and
# node-gyp must compile against Node 24's headers, not the nodedir of the machine's npm config.
install_folder server "$HERE/server" node_modules/code-server/out/node/entry.js \
  PATH="$NODE24_BIN:$PATH" npm_config_nodedir="$NODE_PKG"

echo "[e2e-setup] code-server $(node -p "require('$HERE/server/node_modules/code-server/package.json').version")"
echo "[e2e-setup] total $(elapsed "$T0") s"
